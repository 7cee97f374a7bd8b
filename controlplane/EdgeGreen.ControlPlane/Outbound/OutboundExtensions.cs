using System.Net;
using EdgeGreen.ControlPlane.Core.Outbound;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Outbound;

public static class OutboundExtensions
{
    /// <summary>The outbound guard and its settings, checked at start.</summary>
    public static IHostApplicationBuilder AddOutbound(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OutboundOptions>().BindConfiguration(OutboundOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<OutboundOptions>, OutboundOptionsValidator>();
        builder.Services.AddSingleton<OutboundGuard>();
        return builder;
    }

    /// <summary>A named HTTP client for calls on a user's behalf: only to allowed addresses, no redirects, no proxy.</summary>
    public static IHttpClientBuilder AddOutboundHttpClient(this IServiceCollection services, string name) =>
        services.AddHttpClient(name).ConfigurePrimaryHttpMessageHandler(sp => sp.GetRequiredService<OutboundGuard>().CreateHandler());

    private sealed class OutboundOptionsValidator : IValidateOptions<OutboundOptions>
    {
        public ValidateOptionsResult Validate(string? name, OutboundOptions options)
        {
            var networks = options.AllowedNetworks;
            for (var i = 0; i < networks.Count; i++)
            {
                if (!IPNetwork.TryParse(networks[i], out _))
                {
                    return ValidateOptionsResult.Fail(
                        $"{OutboundOptions.SectionName}:{nameof(OutboundOptions.AllowedNetworks)}:{i} '{networks[i]}' is not a CIDR range " +
                        "such as 127.0.0.0/8 or fd00::/8.");
                }
            }

            return ValidateOptionsResult.Success;
        }
    }
}
