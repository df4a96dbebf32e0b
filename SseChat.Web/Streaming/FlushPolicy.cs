namespace SseChat.Web.Streaming;

/// <summary>How a room paces its writes: from <paramref name="GatherFrom"/> streams on an instance it gathers frames for <paramref name="Delay"/> (<c>Chat:StreamGatherFrom</c>, <c>Chat:StreamFlushDelay</c>).</summary>
internal readonly record struct FlushPolicy(TimeSpan Delay, int GatherFrom);
