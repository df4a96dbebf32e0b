using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using SseChat.Web.Hosting;

namespace SseChat.Web.Tests.LoadTests;

/// <summary>
/// run-local.sh starts the instances with lifted abuse limits; the app validates every limit at start, so a value
/// out of range there would stop every load run before it began (it did once: 1,000,000 posts/s is over the range).
/// </summary>
public sealed partial class RunLocalSettingsTests
{
    [Fact]
    public void The_limits_run_local_sets_are_ones_the_app_accepts()
    {
        var script = File.ReadAllText(LoadTestFiles.PathOf("run-local.sh"));
        var settings = LimitSetting().Matches(script)
            .ToDictionary(m => $"Limits:{m.Groups["key"].Value}", m => (string?)m.Groups["value"].Value);
        Assert.True(settings.Count >= 4, "run-local.sh sets no limits");

        var options = new ConfigurationBuilder().AddInMemoryCollection(settings).Build()
            .GetSection(LimitsOptions.SectionName).Get<LimitsOptions>(o => o.ErrorOnUnknownConfiguration = true)!;
        var errors = new List<ValidationResult>();
        var valid = Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true);

        Assert.True(valid, string.Join("; ", errors.Select(e => e.ErrorMessage)));
        Assert.True(options.PostsPerSecond >= 10_000, $"posting stays limited to {options.PostsPerSecond.ToString(CultureInfo.InvariantCulture)}/s");
        Assert.True(options.StreamsPerAddress >= 10_000, $"streams per address stay limited to {options.StreamsPerAddress}");
    }

    [GeneratedRegex(@"\bLimits__(?<key>[A-Za-z]+)=(?<value>[0-9.]+)")]
    private static partial Regex LimitSetting();
}
