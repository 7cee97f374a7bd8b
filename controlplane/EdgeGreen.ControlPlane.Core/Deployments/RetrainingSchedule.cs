using Cronos;

namespace EdgeGreen.ControlPlane.Core.Deployments;

/// <summary>Five-field cron expressions, read in UTC, for the schedule trigger.</summary>
public static class RetrainingSchedule
{
    public static bool TryParse(string? text, out CronExpression? expression)
    {
        expression = null;
        return text is { Length: > 0 } && CronExpression.TryParse(text, CronFormat.Standard, out expression);
    }

    /// <summary>Whether an occurrence falls in (<paramref name="since"/>, <paramref name="now"/>]; the first such occurrence.</summary>
    public static DateTimeOffset? OccurrenceBetween(string cron, DateTimeOffset since, DateTimeOffset now)
    {
        if (!TryParse(cron, out var expression))
        {
            return null;
        }

        var next = expression!.GetNextOccurrence(since, TimeZoneInfo.Utc);
        return next is { } at && at <= now ? at : null;
    }
}
