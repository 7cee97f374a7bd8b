using System.Net.Http.Headers;
using System.Text.Json;
using EdgeGreen.ControlPlane.Ingest;

namespace EdgeGreen.ControlPlane.Hosting;

/// <summary>
/// Control characters refused in everything a REST caller sends: the path, the query, and every
/// string and property name of a JSON body (tab, line feed and carriage return allowed there, for
/// free text). PostgreSQL's text cannot hold NUL, so a name with one would otherwise fail only at the
/// write, as a 500, and only on one provider; logs and terminals show the rest as something else.
/// Checked once here, before routing, for every route, so that no field can be forgotten; the
/// serializer and the OpenAPI schemas stay as they are.
/// </summary>
public static class ControlCharacterGuard
{
    /// <summary>JSON bodies up to this size are checked; larger ones are refused by their routes' own limits first.</summary>
    public const int MaxCheckedBodyBytes = 16 * 1024 * 1024;

    /// <summary>Refuses, before routing, a request whose path, query or JSON body holds a control character.</summary>
    public static IApplicationBuilder UseControlCharacterGuard(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            // No control character belongs in a path or a query.
            var (field, message) = ControlCharacters.AnyIn(request.Path.Value ?? "") ? ("path", "path")
                : request.Query.FirstOrDefault(q => ControlCharacters.AnyIn(q.Key) || q.Value.Any(v => ControlCharacters.AnyIn(v ?? ""))).Key is { } key
                    ? (ControlCharacters.Blank(key), ControlCharacters.Blank(key))
                    : IsJson(request) ? await CheckBodyAsync(request, context.RequestAborted) : (null, null);
            if (field is null)
            {
                await next(context);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new HttpValidationProblemDetails(new Dictionary<string, string[]>
                {
                    [field] = [$"{message} may not contain control characters (U+0000-U+001F, U+007F-U+009F; tab and line breaks allowed in JSON text)."],
                })
                {
                    Title = "One or more validation errors occurred.",
                    Status = StatusCodes.Status400BadRequest,
                },
            });
        });

    /// <summary>A JSON body of the REST API; inference bodies under <c>/v2</c> carry tensors (BYTES may hold any text), not names.</summary>
    private static bool IsJson(HttpRequest request) =>
        !request.Path.StartsWithSegments("/v2")
        && request.ContentLength is null or (> 0 and <= MaxCheckedBodyBytes)
        && MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
        && type.MediaType is { } media && (media == "application/json" || media.EndsWith("+json", StringComparison.Ordinal));

    /// <summary>
    /// Reads the JSON body (kept for the endpoint to read again) and finds the first string or
    /// property name with a control character: <c>("$.parameters.duration", "the JSON value at …")</c>.
    /// A body that is not JSON is left to the endpoint's binding to refuse.
    /// </summary>
    private static async Task<(string? Field, string? Message)> CheckBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        request.EnableBuffering(bufferThreshold: 64 * 1024, bufferLimit: MaxCheckedBodyBytes);
        using var body = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(body, cancellationToken);
        }
        finally
        {
            request.Body.Position = 0;
        }

        // The property name at each depth (null for array elements), for naming where a value is.
        var names = new List<string?>();
        var reader = new Utf8JsonReader(body.GetBuffer().AsSpan(0, (int)body.Length), new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        string PathTo(int depth) => "$" + string.Concat(names.Take(depth).Where(n => n is not null).Select(n => "." + n));
        try
        {
            while (reader.Read())
            {
                var depth = reader.CurrentDepth;
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        names.RemoveRange(Math.Min(depth, names.Count), names.Count - Math.Min(depth, names.Count));
                        break;
                    case JsonTokenType.PropertyName:
                        var name = reader.GetString()!;
                        if (ControlCharacters.AnyInText(name))
                        {
                            var parent = PathTo(depth - 1);
                            return (parent, $"the JSON property name in {parent}");
                        }

                        while (names.Count < depth)
                        {
                            names.Add(null);
                        }

                        names[depth - 1] = name;
                        break;
                    case JsonTokenType.String when reader.ValueIsEscaped && ControlCharacters.AnyInText(reader.GetString()!):
                        var at = PathTo(depth);
                        return (at, $"the JSON value at {at}");
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: the endpoint's binding answers that.
        }

        return (null, null);
    }
}
