using EdgeGreen.Agent;
using EdgeGreen.Agent.Sensors;
using Prometheus;

if (args is ["probe", .. var probeArgs])
{
    return await SensorProbe.RunAsync(probeArgs, Console.Out);
}

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddDefaults(DefaultSettings.Agent);
builder.Services.AddEdgeGreenAgent(builder.Configuration.GetSection(AgentOptions.SectionName));
builder.Services.AddHealthChecks();

var app = builder.Build();
app.MapHealthChecks("/healthz");
app.MapMetrics(registry: app.Services.GetRequiredService<CollectorRegistry>());
await app.RunAsync();
return 0;
