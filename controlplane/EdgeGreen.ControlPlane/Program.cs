using EdgeGreen.ControlPlane.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddControlPlane();

var app = builder.Build();
app.MapControlPlane();
app.Run();

/// <summary>Entry point; public so that tests can find the application's assembly.</summary>
public partial class Program;
