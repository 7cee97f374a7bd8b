using System.Net.Http.Json;

namespace EdgeGreen.ControlPlane.Core.Carbon.Sources;

internal static class SourceResponses
{
    /// <summary>
    /// The JSON body of a successful response; an error status or an empty body is an
    /// <see cref="HttpRequestException"/>, which the fallback chain treats as the source failing.
    /// </summary>
    public static async Task<T> ReadJsonAsync<T>(this HttpResponseMessage response, string source, CancellationToken cancellationToken)
    {
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<T>(cancellationToken)
            ?? throw new HttpRequestException($"{source} returned an empty body for {response.RequestMessage?.RequestUri}.");
    }
}
