using System.Text.Json;
using System.Text.Json.Serialization;
using EdgeGreen.ControlPlane.Core.Alerts;
using LiteDB;
using JsonSerializer = System.Text.Json.JsonSerializer;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>Alert rules keyed by name and alerts keyed by rule and label key, each as a JSON body.</summary>
public sealed class LiteDbAlertStore(LiteDbDatabase database) : IAlertStore
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    private ILiteCollection<BodyDocument> Rules => database.Database.GetCollection<BodyDocument>("alert_rules");

    private ILiteCollection<BodyDocument> Alerts
    {
        get
        {
            var alerts = database.Database.GetCollection<BodyDocument>("alerts");
            alerts.EnsureIndex(a => a.Rule);
            return alerts;
        }
    }

    public Task<bool> AddRuleAsync(AlertRule rule, CancellationToken cancellationToken) =>
        Task.FromResult(database.Write(_ => Rules.FindById(rule.Name) is null && Rules.Insert(RuleDocument(rule)) is not null));

    public Task<bool> ReplaceRuleAsync(AlertRule rule, CancellationToken cancellationToken) =>
        Task.FromResult(database.Write(_ => Rules.FindById(rule.Name) is not null && Rules.Update(RuleDocument(rule))));

    public Task<AlertRule?> GetRuleAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(database.Read(() => Rules.FindById(name) is { } rule ? Read<AlertRule>(rule) : null));

    public Task<IReadOnlyList<AlertRule>> ListRulesAsync(CancellationToken cancellationToken) =>
        Task.FromResult(database.Read<IReadOnlyList<AlertRule>>(() => [.. Rules.FindAll().Select(Read<AlertRule>).OrderBy(r => r.Name, StringComparer.Ordinal)]));

    public Task<bool> DeleteRuleAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(database.Write(_ =>
        {
            Alerts.DeleteMany(a => a.Rule == name);
            return Rules.Delete(name);
        }));

    public Task SaveAlertAsync(AlertRecord alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        database.Write(_ => Alerts.Upsert(new BodyDocument { Id = AlertId(alert.Rule, alert.Key), Rule = alert.Rule, Body = JsonSerializer.Serialize(alert, Json) }));
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<AlertRecord>> ListAlertsAsync(CancellationToken cancellationToken) =>
        Task.FromResult(database.Read<IReadOnlyList<AlertRecord>>(() =>
            [.. Alerts.FindAll().Select(Read<AlertRecord>).OrderBy(a => a.Rule, StringComparer.Ordinal).ThenBy(a => a.Key, StringComparer.Ordinal)]));

    public Task<bool> DeleteAlertAsync(string rule, string key, CancellationToken cancellationToken) =>
        Task.FromResult(database.Write(_ => Alerts.Delete(AlertId(rule, key))));

    // A rule's name cannot hold a line break, so the pair is unambiguous.
    private static string AlertId(string rule, string key) => rule + "\n" + key;

    private static BodyDocument RuleDocument(AlertRule rule) => new() { Id = rule.Name, Rule = rule.Name, Body = JsonSerializer.Serialize(rule, Json) };

    private static T Read<T>(BodyDocument document) => JsonSerializer.Deserialize<T>(document.Body, Json)
        ?? throw new InvalidDataException($"Alert document {document.Id} has an empty body.");

    internal sealed class BodyDocument
    {
        public string Id { get; set; } = "";

        public string Rule { get; set; } = "";

        public string Body { get; set; } = "";
    }
}
