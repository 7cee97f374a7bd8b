using EdgeGreen.ControlPlane.Hosting;
using EdgeGreen.ControlPlane.Storage;

if (args is ["copy-to-postgres", .. var copyArgs])
{
    return await CopyToPostgresCommand.RunAsync(copyArgs, Console.Out, Console.Error);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddControlPlane();

var app = builder.Build();
app.MapControlPlane();
await app.RunAsync();
return 0;
