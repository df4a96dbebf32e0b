using System.Globalization;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>A line of <c>CLUSTER NODES</c>: id, port, role, whether it is marked failed, and its slot ranges.</summary>
public sealed record ClusterNode(string Id, int Port, bool Primary, bool Failed, IReadOnlyList<(int From, int To)> Ranges)
{
    public int Slots => Ranges.Sum(r => r.To - r.From + 1);

    public bool Owns(int slot) => Ranges.Any(r => slot >= r.From && slot <= r.To);

    public static ClusterNode Parse(string line)
    {
        // <id> <ip:port@cport> <flags> <primary> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot> <slot> ...
        var f = line.Split(' ');
        var address = f[1].Split('@')[0];
        var flags = f[2].Split(',');
        var ranges = f.Skip(8).Where(s => !s.StartsWith('[')).Select(s =>
        {
            var ends = s.Split('-');
            var from = int.Parse(ends[0], CultureInfo.InvariantCulture);
            return (from, ends.Length > 1 ? int.Parse(ends[1], CultureInfo.InvariantCulture) : from);
        }).ToArray();
        return new ClusterNode(f[0], int.Parse(address[(address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture),
            flags.Contains("master"), flags.Contains("fail") || flags.Contains("fail?"), ranges);
    }
}
