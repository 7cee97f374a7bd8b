using EdgeGreen.Agent;
using EdgeGreen.Agent.Sensors;

if (args is ["probe", .. var probeArgs])
{
    return await SensorProbe.RunAsync(probeArgs, Console.Out);
}

if (args is ["calibrate", .. var calibrateArgs])
{
    return await CpuModelCalibration.RunCommandAsync(calibrateArgs, Console.Out);
}

var builder = Host.CreateApplicationBuilder(args);
builder.Configuration.AddDefaults(DefaultSettings.Agent);
builder.Services.AddEdgeGreenAgent(builder.Configuration.GetSection(AgentOptions.SectionName));
builder.Services.AddHostedService<AgentEndpoint>();
builder.Services.AddHostedService<EdgeGreen.Agent.Serving.InferenceGrpcEndpoint>();

await builder.Build().RunAsync();
return 0;
