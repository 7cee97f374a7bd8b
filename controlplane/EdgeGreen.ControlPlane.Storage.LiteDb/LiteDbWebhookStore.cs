using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

public sealed class LiteDbWebhookStore(LiteDbDatabase database) : IWebhookStore
{
    private ILiteCollection<WebhookDocument> Webhooks => database.Database.GetCollection<WebhookDocument>("webhooks");

    public Task AddAsync(WebhookRecord webhook, CancellationToken cancellationToken)
    {
        database.Write(_ => Webhooks.Insert(new WebhookDocument
        {
            Id = webhook.Id, Url = webhook.Url, Events = [.. webhook.Events], Secret = webhook.Secret, CreatedAtTicks = webhook.CreatedAt.UtcTicks,
        }));
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<WebhookRecord>> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<WebhookRecord>>([.. Webhooks.FindAll().OrderBy(w => w.CreatedAtTicks)
            .Select(w => new WebhookRecord(w.Id, w.Url, w.Events, w.Secret, new DateTimeOffset(w.CreatedAtTicks, TimeSpan.Zero)))]);

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) =>
        Task.FromResult(database.Write(_ => Webhooks.Delete(id)));

    public Task<bool> ReplaceSecretAsync(string id, string expected, string secret, CancellationToken cancellationToken) =>
        Task.FromResult(database.Write(_ =>
        {
            var webhook = Webhooks.FindById(id);
            if (webhook is null || webhook.Secret != expected)
            {
                return false;
            }

            webhook.Secret = secret;
            return Webhooks.Update(webhook);
        }));

    internal sealed class WebhookDocument
    {
        public string Id { get; set; } = "";

        public string Url { get; set; } = "";

        public List<string> Events { get; set; } = [];

        public string Secret { get; set; } = "";

        public long CreatedAtTicks { get; set; }
    }
}
