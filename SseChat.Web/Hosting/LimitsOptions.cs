using System.ComponentModel.DataAnnotations;

namespace SseChat.Web.Hosting;

/// <summary>Abuse limits, bound from the "Limits" section and validated at start.</summary>
public sealed class LimitsOptions
{
    public const string SectionName = "Limits";

    /// <summary>Posts one person (nickname cookie + address) may send in a burst.</summary>
    [Range(1, 100_000, ErrorMessage = "Limits:PostBurst must be between {1} and {2}.")]
    public int PostBurst { get; set; } = 10;

    /// <summary>Posts per second one person may send, sustained (the burst refills at this rate).</summary>
    [Range(0.01, 100_000, ErrorMessage = "Limits:PostsPerSecond must be between {1} and {2}.")]
    public double PostsPerSecond { get; set; } = 1;

    /// <summary>Posts per second one client address may send (many people can share one address).</summary>
    [Range(0.01, 1_000_000, ErrorMessage = "Limits:AddressPostsPerSecond must be between {1} and {2}.")]
    public double AddressPostsPerSecond { get; set; } = 20;

    /// <summary>SSE streams one client address may hold open on this instance.</summary>
    [Range(1, 1_000_000, ErrorMessage = "Limits:StreamsPerAddress must be between {1} and {2}.")]
    public int StreamsPerAddress { get; set; } = 100;

    /// <summary>SSE streams this instance holds open at most.</summary>
    [Range(1, 10_000_000, ErrorMessage = "Limits:StreamsPerInstance must be between {1} and {2}.")]
    public int StreamsPerInstance { get; set; } = 20_000;

    /// <summary>Largest total size of a request's headers (Kestrel answers 431 above).</summary>
    [Range(1024, 1024 * 1024, ErrorMessage = "Limits:MaxRequestHeadersBytes must be between {1} and {2}.")]
    public int MaxRequestHeadersBytes { get; set; } = 16 * 1024;

    /// <summary>Most headers a request may have (Kestrel answers 431 above).</summary>
    [Range(8, 1000, ErrorMessage = "Limits:MaxRequestHeaderCount must be between {1} and {2}.")]
    public int MaxRequestHeaderCount { get; set; } = 50;
}
