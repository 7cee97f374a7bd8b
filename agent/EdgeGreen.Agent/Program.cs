using EdgeGreen.Agent;
using Prometheus;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddDefaults(DefaultSettings.Agent);
builder.Services.AddEdgeGreenAgent(builder.Configuration.GetSection(AgentOptions.SectionName));
builder.Services.AddHealthChecks();

var app = builder.Build();
app.MapHealthChecks("/healthz");
app.MapMetrics(registry: app.Services.GetRequiredService<CollectorRegistry>());
app.Run();
