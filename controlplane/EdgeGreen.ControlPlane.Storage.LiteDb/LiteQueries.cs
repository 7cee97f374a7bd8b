using LiteDB;

namespace EdgeGreen.ControlPlane.Storage.LiteDb;

/// <summary>
/// The predicates of LiteDB's <see cref="Query"/> helpers with the value as a parameter. In LiteDB
/// 5.0.21 <c>Query.EQ</c>, <c>Query.LT</c>, <c>Query.Between</c> and the rest compile an expression
/// for each distinct value and keep it in a static cache that is never emptied (LiteDB issues
/// #1688 and #2421), so a query with a new bound each time (a moving time range, a replica's
/// last-seen cutoff, an API key's hash) kept a compiled delegate for good, and the process grew without
/// end. Here each field and operator compiles once. <c>Query.All</c> takes no value and is fine.
/// </summary>
internal static class LiteQueries
{
    public static BsonExpression EQ(string field, BsonValue value) => BsonExpression.Create($"{field} = @0", value);

    public static BsonExpression LT(string field, BsonValue value) => BsonExpression.Create($"{field} < @0", value);

    public static BsonExpression GT(string field, BsonValue value) => BsonExpression.Create($"{field} > @0", value);

    public static BsonExpression Between(string field, BsonValue start, BsonValue end) => BsonExpression.Create($"{field} BETWEEN @0 AND @1", start, end);

    public static BsonExpression In(string field, BsonArray values) => BsonExpression.Create($"{field} IN @0", values);
}
