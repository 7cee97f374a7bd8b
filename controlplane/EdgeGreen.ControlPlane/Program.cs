using EdgeGreen.ControlPlane.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddControlPlane();

var app = builder.Build();
app.MapControlPlane();
app.Run();

