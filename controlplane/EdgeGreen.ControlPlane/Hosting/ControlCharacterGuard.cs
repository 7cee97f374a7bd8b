using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeGreen.ControlPlane.Ingest;

namespace EdgeGreen.ControlPlane.Hosting;

/// <summary>
/// Control characters refused in everything a REST caller sends: JSON strings in request bodies
/// (tab, line feed and carriage return allowed, for free text) and the path and query. PostgreSQL's
/// text cannot hold NUL, so a name with one would otherwise fail only at the write, as a 500, and
/// only on one provider; logs and terminals show the rest as something else. Checked once here, at
/// the edge, for every route, so that no field can be forgotten.
/// </summary>
public static class ControlCharacterGuard
{
    /// <summary>C0 controls but tab, line feed and carriage return; DEL and the C1 controls.</summary>
    private static readonly SearchValues<char> InText =
        SearchValues.Create([.. Enumerable.Range(0, 0x20).Where(c => c is not ('\t' or '\n' or '\r')).Concat(Enumerable.Range(0x7F, 0x21)).Select(c => (char)c)]);

    /// <summary>Refuses, before routing, a request whose decoded path or query holds a control character.</summary>
    public static IApplicationBuilder UseControlCharacterGuard(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            // No control character belongs in a path or a query.
            var field = ControlCharacters.AnyIn(request.Path.Value ?? "") ? "path"
                : request.Query.FirstOrDefault(q => ControlCharacters.AnyIn(q.Key) || q.Value.Any(v => ControlCharacters.AnyIn(v ?? ""))).Key;
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
                    [ControlCharacters.Blank(field)] = [$"{ControlCharacters.Blank(field)} may not contain control characters (U+0000-U+001F, U+007F-U+009F)."],
                })
                {
                    Title = "One or more validation errors occurred.",
                    Status = StatusCodes.Status400BadRequest,
                },
            });
        });

    /// <summary>The JSON string converter of the REST API: strings with control characters do not bind.</summary>
    public sealed class TextConverter : JsonConverter<string>
    {
        public override bool HandleNull => false;

        public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var value = reader.GetString();
            return value is not null && value.AsSpan().ContainsAny(InText)
                ? throw new JsonException("The value may not contain control characters other than tab, line feed and carriage return (U+0000-U+001F, U+007F-U+009F).")
                : value;
        }

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

        /// <summary>Dictionary keys (tags, labels, parameters) are held to the same rule.</summary>
        public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            Read(ref reader, typeToConvert, options)!;

        public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WritePropertyName(value);
    }
}
