using System.Net;
using EdgeGreen.ControlPlane.Core.Outbound;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

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

    /// <summary>
    /// <see cref="AddOutboundHttpClient"/> with retries (5, exponential from 1 s, jittered) on network
    /// errors, timeouts and 408/429/5xx answers, and a 10 s limit per attempt; a refused target is not retried.
    /// </summary>
    public static IHttpClientBuilder AddRetriedOutboundHttpClient(this IServiceCollection services, string name)
    {
        var client = services.AddOutboundHttpClient(name);
        client.AddResilienceHandler(name, pipeline => pipeline
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = 5, Delay = TimeSpan.FromSeconds(1), BackoffType = DelayBackoffType.Exponential, UseJitter = true,
                // A refused target stays refused: trying it again only delays the answer.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception?.InnerException is not OutboundRefusedException
                    && HttpClientResiliencePredicates.IsTransient(args.Outcome)),
            })
            .AddTimeout(TimeSpan.FromSeconds(10)));
        return client;
    }

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
