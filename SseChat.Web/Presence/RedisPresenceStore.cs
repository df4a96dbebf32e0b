using System.Globalization;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;
using StackExchange.Redis;

namespace SseChat.Web.Presence;

/// <summary>
/// Presence across instances, in Redis. Per room: a sorted set of holds, "{instance}|{browser id}" → expiry (Redis's
/// own clock, so the instances' clocks need not agree), renewed by the holding instance; a hash counting how many
/// instances hold each person; a hash of how each person is listed; a sorted set of those listings in display order
/// (so the first K people are one ZRANGE); a version counter. Every change is one Lua script, and the script that
/// makes a person appear or disappear also publishes the notice on the room's channel: the change and its
/// announcement cannot be separated by a crash, notices reach subscribers in the order of the changes, and when
/// several instances sweep the same expired hold, only the one whose ZREM removed it announces. No script does work
/// in proportion to the room's size: a notice carries the person and the room's head count, never the list. The scripts
/// build no frame of their own: they fill the notice templates of <see cref="RedisWireFormat"/>.
/// <para>
/// Every script touches the keys of one room only (one cluster slot). The rooms index (room → head count, for the room
/// list and the sweepers) lives on a slot of its own: a change of a room's head count is written there afterwards by a
/// second small script, which keeps a newer presence version's count against a late older one; and every sweep, which
/// reads the index anyway, writes back the count of a room it finds different there. So the index follows the rooms
/// without any script spanning two slots.
/// </para>
/// </summary>
internal sealed class RedisPresenceStore : IPresenceStore
{
    /// <summary>An idle room's version counter goes after this; a new one starts above any it handed out (see the script).</summary>
    private static readonly long VersionLifetimeMs = (long)TimeSpan.FromDays(7).TotalMilliseconds;

    // KEYS: holds, people, members, version, names (one room: one slot). ARGV: room, channel, the notice templates of
    // "joined" and "left", version lifetime (ms), the template of a change of names, then the script's own.
    // A listing (a value of members, a member of names) is "{sort key}\n{author}\n{member JSON}" (see Listing): all
    // scores in names are 0, so Redis orders them by these bytes, which is the display order.
    private const string Prelude = RedisWireFormat.LuaFill + """
        local holds, people, members, versionKey, names = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
        local room, channel = ARGV[1], ARGV[2]
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local nowMicroseconds = tonumber(t[1]) * 1000000 + tonumber(t[2])

        -- Integers as text without an exponent (Lua numbers are doubles; tostring would print 1.8e+15).
        local function int(n) return string.format('%.0f', n) end

        -- Raised by every change. A counter that is gone (expired while the room was empty, or Redis lost it) starts
        -- again from the clock in microseconds, above every version handed out before.
        local function nextVersion()
            if redis.call('EXISTS', versionKey) == 0 then redis.call('SET', versionKey, int(nowMicroseconds)) end
            local v = redis.call('INCR', versionKey)
            redis.call('PEXPIRE', versionKey, ARGV[5])
            return v
        end

        local function version() return int(tonumber(redis.call('GET', versionKey) or '0')) end

        -- How many people are in the room: what notices, the list and the rooms index say.
        local function headCount() return redis.call('ZCARD', names) end

        -- The member JSON at the end of a listing (a bare JSON value, as stored before listings, is taken as it is).
        local function memberJson(listing) return string.match(listing, '^[^\n]*\n[^\n]*\n(.*)$') or listing end

        local function list(id, listing, known)
            if known then redis.call('ZREM', names, known) end
            redis.call('HSET', members, id, listing)
            redis.call('ZADD', names, 0, listing)
        end

        local function unlist(id, known)
            redis.call('HDEL', members, id)
            redis.call('ZREM', names, known)
        end

        -- The notice: its template (RedisWireFormat.NoticeTemplate) filled with the time, the room's version and head
        -- count after the change (not its list: that would make every change O(n)) and the person as stored.
        local function announce(template, listing)
            local v = nextVersion()
            redis.call('SPUBLISH', channel, fill(template, {
                t = int(now), v = int(v), c = int(headCount()), m = memberJson(listing) }))
        end

        -- Takes or renews a hold; a person no instance held until now is announced. A stream brings the name its
        -- browser has now (store it, announce a change); a renewal only puts back a name that is missing. A caller that
        -- has read the stored listing already passes it as known.
        local function hold(field, id, listing, expiry, fromStream, known)
            known = known or redis.call('HGET', members, id)
            if not known or (fromStream and known ~= listing) then list(id, listing, known) end
            if redis.call('ZADD', holds, expiry, field) == 1 and redis.call('HINCRBY', people, id, 1) == 1 then
                announce(ARGV[3], listing)
                return 1
            end
            if fromStream and known and known ~= listing then announce(ARGV[6], listing) end
            return 0
        end

        -- Drops a hold; the caller that removes a person's last hold (and only that one) announces them as left.
        local function drop(field, id)
            if redis.call('ZREM', holds, field) == 0 then return 0 end
            if redis.call('HINCRBY', people, id, -1) > 0 then return 0 end
            redis.call('HDEL', people, id)
            local listing = redis.call('HGET', members, id)
            if listing then
                unlist(id, listing)
                announce(ARGV[4], listing)
            end
            return 1
        end

        -- The version, the head count and the first `limit` listings in display order: O(limit), whatever the room's size.
        local function snapshot(limit)
            return {version(), headCount(), redis.call('ZRANGE', names, 0, limit - 1)}
        end

        -- What a change returns: how many people it announced, and the room's version and head count after it (for the
        -- rooms index).
        local function changed(announced) return {announced, version(), headCount()} end

        """;

    // ARGV[7] field, ARGV[8] browser id, ARGV[9] listing, ARGV[10] expiry (ms), ARGV[11] list limit. A stream that
    // announced its person gets no list (its own notice is on its way); any other gets the first people.
    private const string HoldScript = Prelude + """
        if hold(ARGV[7], ARGV[8], ARGV[9], now + tonumber(ARGV[10]), true) == 1 then
            return changed(1)
        end
        local s = snapshot(tonumber(ARGV[11]))
        return {0, s[1], s[2], s[3]}
        """;

    // ARGV[7] browser id, ARGV[8] listing: only someone in the room is renamed there.
    private const string RenameScript = Prelude + """
        local known = redis.call('HGET', members, ARGV[7])
        if redis.call('HEXISTS', people, ARGV[7]) == 1 and known ~= ARGV[8] then
            list(ARGV[7], ARGV[8], known)
            announce(ARGV[6], ARGV[8])
            return 1
        end
        return 0
        """;

    // ARGV[7] field, ARGV[8] browser id.
    private const string ReleaseScript = Prelude + """
        return changed(drop(ARGV[7], ARGV[8]))
        """;

    // ARGV[7] instance, ARGV[8] expiry (ms), then browser ids. Renews the holds of the people whose listing Redis has
    // and returns the others' ids (fourth), whose listings RestoreScript then brings: a renewal sends no names unless
    // Redis lost them.
    private const string RenewScript = Prelude + """
        local expiry, joined, missing = now + tonumber(ARGV[8]), 0, {}
        for i = 9, #ARGV do
            local known = redis.call('HGET', members, ARGV[i])
            if known then
                joined = joined + hold(ARGV[7] .. '|' .. ARGV[i], ARGV[i], known, expiry, false, known)
            else
                missing[#missing + 1] = ARGV[i]
            end
        end
        local result = changed(joined)
        result[4] = missing
        return result
        """;

    // ARGV[7] instance, ARGV[8] expiry (ms), then pairs of browser id and listing.
    private const string RestoreScript = Prelude + """
        local expiry, joined = now + tonumber(ARGV[8]), 0
        for i = 9, #ARGV, 2 do
            joined = joined + hold(ARGV[7] .. '|' .. ARGV[i], ARGV[i], ARGV[i + 1], expiry, false)
        end
        return changed(joined)
        """;

    /// <summary>
    /// People renewed per script call: a call's arguments stay off the large-object heap (a room of 10,000 renewed
    /// in one call put two 320 KB arrays there every renewal, collected only by full collections), and Redis is not
    /// held for one long script.
    /// </summary>
    internal const int RenewBatch = 500;

    private const string SweepScript = Prelude + """
        local left = 0
        for _, field in ipairs(redis.call('ZRANGEBYSCORE', holds, '-inf', now)) do
            local bar = string.find(field, '|', 1, true)
            if bar then left = left + drop(field, string.sub(field, bar + 1)) else redis.call('ZREM', holds, field) end
        end
        return changed(left)
        """;

    // ARGV[7] list limit.
    private const string ReadScript = Prelude + """
        return snapshot(tonumber(ARGV[7]))
        """;

    // The rooms index, on its own slot. KEYS: counts, versions. ARGV: room, its presence version, its head count, and
    // "1" to write whatever the index holds (a sweeper that found it wrong). Otherwise a count older than the one the
    // index has is dropped: updates of one room from several instances may arrive in any order. An empty room leaves
    // the index; an update that arrives later still would put it back, and the next sweep takes it out again.
    private static readonly LuaScript IndexScript = LuaScript.Prepare("""
        local known = redis.call('HGET', @versions, @room)
        if @force ~= '1' and known and tonumber(known) > tonumber(@version) then return 0 end
        if tonumber(@count) > 0 then
            redis.call('ZADD', @counts, @count, @room)
            redis.call('HSET', @versions, @room, @version)
        else
            redis.call('ZREM', @counts, @room)
            redis.call('HDEL', @versions, @room)
        end
        return 1
        """);

    private readonly RedisGateway _redis;
    private readonly RedisKeys _keys;
    private readonly IOptions<ChatOptions> _options;
    private readonly ILogger<RedisPresenceStore> _logger;

    public RedisPresenceStore(RedisGateway redis, RedisKeys keys, IOptions<ChatOptions> options, ILogger<RedisPresenceStore> logger)
    {
        _redis = redis;
        _keys = keys;
        _options = options;
        _logger = logger;
    }

    /// <summary>
    /// This process's name in the holds: new at every start, so a restarted instance never mistakes the holds of its
    /// previous life (which expire and are swept) for its own.
    /// </summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString("N")[..16];

    private long ExpiryMs => (long)_options.Value.PresenceExpiry.TotalMilliseconds;

    private int ListLimit => _options.Value.PresenceListLimit;

    public async Task<PresenceEntry> HoldAsync(string room, Member member, CancellationToken cancellationToken)
    {
        var result = await EvaluateAsync("hold", room, HoldScript,
            [Field(member.Id), member.Id, Listing(member), ExpiryMs, ListLimit], cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        var version = ParseVersion(parts[1]);
        if ((long)parts[0] == 1)
        {
            await IndexAsync(room, Change.Read(parts), force: false).ConfigureAwait(false);
            return new PresenceEntry(Announced: true, version, Snapshot: null);
        }

        return new PresenceEntry(Announced: false, version, ParseSnapshot(room, parts[1], parts[2], parts[3]));
    }

    public Task RenameAsync(string room, Member member, CancellationToken cancellationToken) =>
        EvaluateAsync("rename", room, RenameScript, [member.Id, Listing(member)], cancellationToken);

    public Task ReleaseAsync(string room, Member member, CancellationToken cancellationToken) =>
        ChangeAsync("release", room, ReleaseScript, [Field(member.Id), member.Id], cancellationToken);

    /// <summary>
    /// Renews this instance's holds in a room, <see cref="RenewBatch"/> people a call, with their ids only: an idle
    /// instance of 10,000 streams renewed every few seconds with every listing rebuilt, about 1 MB/s of garbage that
    /// kept its heap growing between collections. Listings go only for the people Redis no longer lists.
    /// </summary>
    public async Task<int> RenewAsync(string room, IReadOnlyCollection<Member> members, CancellationToken cancellationToken)
    {
        var joined = 0;
        foreach (var batch in members.Chunk(RenewBatch))
        {
            var args = new RedisValue[2 + batch.Length];
            args[0] = InstanceId;
            args[1] = ExpiryMs;
            for (var i = 0; i < batch.Length; i++)
            {
                args[2 + i] = batch[i].Id;
            }

            var parts = (RedisResult[])(await EvaluateAsync("renew", room, RenewScript, args, cancellationToken).ConfigureAwait(false))!;
            joined += await IndexIfAnnouncedAsync(room, Change.Read(parts)).ConfigureAwait(false);
            var missing = (RedisResult[])parts[3]!;
            if (missing.Length > 0)
            {
                joined += await ChangeAsync("restore", room, RestoreScript, RestoreArguments(batch, missing), cancellationToken).ConfigureAwait(false);
            }
        }

        return joined;
    }

    private RedisValue[] RestoreArguments(Member[] batch, RedisResult[] missing)
    {
        var ids = missing.Select(m => (string)m!).ToHashSet(StringComparer.Ordinal);
        var args = new List<RedisValue>(2 + (ids.Count * 2)) { InstanceId, ExpiryMs };
        foreach (var member in batch.Where(m => ids.Contains(m.Id)))
        {
            args.Add(member.Id);
            args.Add(Listing(member));
        }

        return [.. args];
    }

    /// <summary>
    /// Sweeps every room of the index and every room held here, one room's script at a time, and so also repairs the
    /// index: a room whose head count the index has wrong (an update that failed, or was lost with an instance or a
    /// Redis failover) is written back with its true count.
    /// </summary>
    public async Task<int> SweepAsync(IReadOnlyCollection<string> heldHere, CancellationToken cancellationToken)
    {
        var indexed = await _redis.ReadAsync("rooms-index", "*", db => db.SortedSetRangeByRankWithScoresAsync(_keys.RoomCounts), cancellationToken)
            .ConfigureAwait(false);
        var rooms = indexed.ToDictionary(e => (string)e.Element!, e => (long)e.Score, StringComparer.Ordinal);
        foreach (var room in heldHere)
        {
            rooms.TryAdd(room, 0);
        }

        var left = 0;
        foreach (var (room, count) in rooms)
        {
            var change = Change.Read((RedisResult[])(await EvaluateAsync("sweep", room, SweepScript, [], cancellationToken).ConfigureAwait(false))!);
            left += change.Announced;
            if (change.Announced > 0)
            {
                await IndexAsync(room, change, force: false).ConfigureAwait(false);
            }
            else if (change.Count != count)
            {
                await IndexAsync(room, change, force: true).ConfigureAwait(false);
            }
        }

        if (left > 0)
        {
            PresenceLog.SweptAway(_logger, left);
        }

        return left;
    }

    public async Task<PresenceSnapshot> ReadAsync(string room, CancellationToken cancellationToken)
    {
        var parts = (RedisResult[])(await EvaluateAsync("read", room, ReadScript, [ListLimit], cancellationToken, write: false).ConfigureAwait(false))!;
        return ParseSnapshot(room, parts[0], parts[1], parts[2]);
    }

    public async Task<IReadOnlyList<RoomOccupancy>> RoomsAsync(int max, CancellationToken cancellationToken)
    {
        var entries = await _redis.ReadAsync("rooms-index", "*",
            db => db.SortedSetRangeByRankWithScoresAsync(_keys.RoomCounts, 0, max - 1, Order.Descending), cancellationToken).ConfigureAwait(false);
        return entries.Select(e => new RoomOccupancy(e.Element!, (int)e.Score)).ToArray();
    }

    private string Field(string id) => $"{InstanceId}|{id}";

    /// <summary>
    /// How a person is listed in Redis: "{sort key}\n{author}\n{member JSON}". Stored per person and kept in the
    /// room's names set, where Redis orders listings by their bytes: by name ignoring case, then by tag
    /// (<see cref="PresenceOrder"/>); the JSON is what pages show.
    /// </summary>
    internal static string Listing(Member member) =>
        $"{PresenceOrder.SortKey(member.Nick)}\n{member.Author}\n{RedisWireFormat.Member(member.Nick, member.Author)}";

    private static long ParseVersion(RedisResult version) => long.Parse((string)version!, CultureInfo.InvariantCulture);

    private PresenceSnapshot ParseSnapshot(string room, RedisResult version, RedisResult count, RedisResult listings)
    {
        var entries = (RedisResult[])listings!;
        var people = new List<PresentPerson>(entries.Length);
        foreach (var entry in entries)
        {
            var listing = (string)entry!;
            try
            {
                var second = listing.IndexOf('\n', listing.IndexOf('\n', StringComparison.Ordinal) + 1);
                people.Add(RedisWireFormat.ReadMember(second < 0 ? listing : listing[(second + 1)..]));
            }
            catch (System.Text.Json.JsonException ex)
            {
                PresenceLog.MalformedMember(_logger, room, ex);
            }
        }

        return new PresenceSnapshot(ParseVersion(version), (int)count, people);
    }

    /// <summary>Runs a script that changes a room's presence; when its head count changed, writes it to the rooms index.</summary>
    private async Task<int> ChangeAsync(string operation, string room, string script, RedisValue[] scriptArgs, CancellationToken cancellationToken)
    {
        var change = Change.Read((RedisResult[])(await EvaluateAsync(operation, room, script, scriptArgs, cancellationToken).ConfigureAwait(false))!);
        return await IndexIfAnnouncedAsync(room, change).ConfigureAwait(false);
    }

    private async Task<int> IndexIfAnnouncedAsync(string room, Change change)
    {
        if (change.Announced > 0)
        {
            await IndexAsync(room, change, force: false).ConfigureAwait(false);
        }

        return change.Announced;
    }

    /// <summary>
    /// Writes a room's head count to the rooms index (a slot of its own, so after the room's script, not in it). The
    /// change it reflects has happened: a failure here is logged, and a later sweep writes the count again.
    /// </summary>
    private async Task IndexAsync(string room, Change change, bool force)
    {
        var args = new
        {
            counts = _keys.RoomCounts,
            versions = _keys.RoomVersions,
            room,
            version = change.Version,
            count = change.Count,
            force = force ? "1" : "0",
        };
        try
        {
            await _redis.WriteAsync("rooms-index", room, db => IndexScript.EvaluateAsync(db, args), CancellationToken.None).ConfigureAwait(false);
        }
        catch (BusUnavailableException ex)
        {
            PresenceLog.IndexFailed(_logger, room, ex);
        }
    }

    /// <summary>Runs a presence script on a room: a change as a write (behind the breaker), a read as a read.</summary>
    private Task<RedisResult> EvaluateAsync(
        string operation, string room, string script, RedisValue[] scriptArgs, CancellationToken cancellationToken, bool write = true)
    {
        RedisKey[] keys =
        [
            _keys.PresenceHolds(room), _keys.PresencePeople(room), _keys.PresenceMembers(room), _keys.PresenceVersion(room), _keys.PresenceNames(room),
        ];
        RedisValue[] args =
        [
            room, (string)_keys.Channel(room)!, RedisWireFormat.NoticeTemplate(ChatEventKind.UserJoined, room),
            RedisWireFormat.NoticeTemplate(ChatEventKind.UserLeft, room), VersionLifetimeMs,
            RedisWireFormat.NoticeTemplate(ChatEventKind.PresenceChanged, room), .. scriptArgs,
        ];
        // Retrying is safe: every script is idempotent (a second hold or drop of the same field changes nothing).
        Func<IDatabase, Task<RedisResult>> command = db => db.ScriptEvaluateAsync(script, keys, args);
        return write
            ? _redis.WriteAsync("presence-" + operation, room, command, cancellationToken)
            : _redis.ReadAsync("presence-" + operation, room, command, cancellationToken);
    }

    /// <summary>What a change script returns: how many people it announced, the room's version and head count after it.</summary>
    private readonly record struct Change(int Announced, long Version, long Count)
    {
        public static Change Read(RedisResult[] parts) => new((int)parts[0], ParseVersion(parts[1]), (long)parts[2]);
    }
}
