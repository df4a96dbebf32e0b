using System.Collections;
using SseChat.LoadDriver;

namespace SseChat.Web.Tests.LoadTests;

/// <summary>Checks on the load driver's report as a whole.</summary>
internal static class LoadReports
{
    /// <summary>
    /// The report read back from its JSON line is the same report: every field, the lists and dictionaries item by item
    /// (the record's own equality compares those by reference), the nested fault report too; and it writes the same line.
    /// </summary>
    public static void AssertRoundTrips(LoadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var json = report.ToJson();

        var back = LoadReport.FromJson(json);

        Assert.NotNull(back);
        Assert.Equivalent(report, back, strict: true);
        Assert.Equal(json, back.ToJson()); // in the same order, too
    }

    /// <summary>Every public property holds something other than its type's default (an empty list counts as default).</summary>
    public static void AssertEveryFieldSet(object? sample)
    {
        Assert.NotNull(sample);
        foreach (var property in sample.GetType().GetProperties())
        {
            var value = property.GetValue(sample);
            var unset = value is null
                || (property.PropertyType.IsValueType && value.Equals(Activator.CreateInstance(property.PropertyType)))
                || (value is IEnumerable items and not string && !items.GetEnumerator().MoveNext());
            Assert.False(unset, $"{sample.GetType().Name}.{property.Name} is left at its default");
        }
    }
}
