using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using SseChat.Web.Bus;
using SseChat.Web.Chat;

namespace SseChat.Web.Presence;

/// <summary>
/// This instance's side of presence: it counts each person's streams per room here and tells the store only when a
/// person starts or stops being held by this instance (first stream opened, last one closed and the leave grace run
/// out), so the store sees one hold per person per instance however many tabs they have. The calls for one room are
/// made one at a time, in the order of the stream events, so a quick close and reopen cannot reach the store the
/// wrong way round.
/// </summary>
internal sealed class PresenceTracker(IPresenceStore store, IOptions<ChatOptions> options, TimeProvider time, ILogger<PresenceTracker> logger)
    : IPresence
{
    private readonly ConcurrentDictionary<string, LocalRoom> _rooms = new(StringComparer.Ordinal);

    public async Task<PresenceEntry> EnterAsync(string room, Member member, CancellationToken cancellationToken)
    {
        var local = await AcquireAsync(room, cancellationToken).ConfigureAwait(false);
        try
        {
            if (!local.Members.TryGetValue(member.Id, out var held))
            {
                held = new Held(member);
                local.Members.Add(member.Id, held);
            }

            held.Member = member;
            held.Streams++;
            held.CancelPendingLeave();
            try
            {
                // Not tied to the request from here on: the count has changed, the store must hear of it. Holding
                // again what is held already is one round trip too, returns the list, and stores the name this
                // stream came with (a reload after a rename).
                var entry = await store.HoldAsync(room, member, CancellationToken.None).ConfigureAwait(false);
                held.InStore = true;
                return entry;
            }
            catch (BusUnavailableException ex)
            {
                // The stream works without presence; the next renewal takes the person into the store.
                PresenceLog.StoreUnavailable(logger, room, ex);
                return default;
            }
        }
        finally
        {
            Unlock(room, local);
        }
    }

    public async Task LeaveAsync(string room, Member member)
    {
        var local = await AcquireAsync(room, CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (!local.Members.TryGetValue(member.Id, out var held) || held.Streams == 0)
            {
                return;
            }

            if (--held.Streams > 0)
            {
                return;
            }

            var grace = options.Value.PresenceLeaveGrace;
            if (grace <= TimeSpan.Zero)
            {
                await ReleaseAsync(room, local, member.Id, held).ConfigureAwait(false);
                return;
            }

            var generation = ++held.LeaveGeneration;
            held.PendingLeave = time.CreateTimer(
                static state =>
                {
                    var (tracker, room, id, held, generation) = ((PresenceTracker, string, string, Held, long))state!;
                    _ = tracker.LeaveAfterGraceAsync(room, id, held, generation);
                },
                (this, room, member.Id, held, generation),
                grace,
                Timeout.InfiniteTimeSpan);
        }
        finally
        {
            Unlock(room, local);
        }
    }

    public async Task RenameAsync(string room, Member member, CancellationToken cancellationToken)
    {
        var local = await AcquireAsync(room, cancellationToken).ConfigureAwait(false);
        try
        {
            // Renewals from here must not bring the old name back.
            if (local.Members.TryGetValue(member.Id, out var held))
            {
                held.Member = member;
            }
        }
        finally
        {
            Unlock(room, local);
        }

        await store.RenameAsync(room, member, cancellationToken).ConfigureAwait(false);
    }

    public Task<PresenceSnapshot> ReadAsync(string room, CancellationToken cancellationToken) => store.ReadAsync(room, cancellationToken);

    public Task<IReadOnlyList<RoomOccupancy>> RoomsAsync(int max, CancellationToken cancellationToken) => store.RoomsAsync(max, cancellationToken);

    /// <summary>The rooms this instance holds people in now.</summary>
    public IReadOnlyCollection<string> Rooms => [.. _rooms.Keys];

    /// <summary>
    /// Renews this instance's holds in every room it has people in (those within their leave grace too), and so takes
    /// in people whose hold could not be made or had expired. Called by <see cref="PresenceMaintenance"/>.
    /// </summary>
    public async Task RenewAsync(CancellationToken cancellationToken)
    {
        foreach (var room in _rooms.Keys)
        {
            var local = await AcquireAsync(room, cancellationToken).ConfigureAwait(false);
            try
            {
                if (local.Members.Count == 0)
                {
                    continue;
                }

                var joined = await store.RenewAsync(room, local.Members.Values.Select(h => h.Member).ToArray(), cancellationToken).ConfigureAwait(false);
                foreach (var held in local.Members.Values)
                {
                    held.InStore = true;
                }

                if (joined > 0)
                {
                    PresenceLog.Restored(logger, room, joined);
                }
            }
            catch (BusUnavailableException ex)
            {
                PresenceLog.StoreUnavailable(logger, room, ex);
            }
            finally
            {
                Unlock(room, local);
            }
        }
    }

    private async Task LeaveAfterGraceAsync(string room, string id, Held expected, long generation)
    {
        try
        {
            var local = await AcquireAsync(room, CancellationToken.None).ConfigureAwait(false);
            try
            {
                // Gone already, back again, or a newer leave is pending: this timer has nothing left to do.
                if (!local.Members.TryGetValue(id, out var held) || held != expected || held.Streams > 0 || held.LeaveGeneration != generation)
                {
                    return;
                }

                await ReleaseAsync(room, local, id, held).ConfigureAwait(false);
            }
            finally
            {
                Unlock(room, local);
            }
        }
#pragma warning disable CA1031 // a timer callback has no caller to throw to: log, and the hold expires by itself
        catch (Exception ex)
#pragma warning restore CA1031
        {
            PresenceLog.DelayedLeaveFailed(logger, room, ex);
        }
    }

    /// <summary>Forgets the person here and tells the store; called with the room's gate held.</summary>
    private async Task ReleaseAsync(string room, LocalRoom local, string id, Held held)
    {
        held.CancelPendingLeave();
        local.Members.Remove(id);
        if (!held.InStore)
        {
            return;
        }

        try
        {
            await store.ReleaseAsync(room, held.Member, CancellationToken.None).ConfigureAwait(false);
        }
        catch (BusUnavailableException ex)
        {
            // Nobody renews the hold any more: it expires, and a sweeping instance announces "left" then.
            PresenceLog.StoreUnavailable(logger, room, ex);
        }
    }

    /// <summary>The room's gate, on a room that is still in use (a retired one is replaced by a fresh one).</summary>
    private async Task<LocalRoom> AcquireAsync(string room, CancellationToken cancellationToken)
    {
        while (true)
        {
            var local = _rooms.GetOrAdd(room, static _ => new LocalRoom());
            await local.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!local.Retired)
            {
                return local;
            }

            local.Gate.Release();
        }
    }

    /// <summary>Releases the gate; a room nobody is in here any more is dropped, so rooms once visited cost nothing.</summary>
    private void Unlock(string room, LocalRoom local)
    {
        if (local.Members.Count == 0)
        {
            local.Retired = true;
            _rooms.TryRemove(new KeyValuePair<string, LocalRoom>(room, local));
        }

        local.Gate.Release();
    }

    /// <summary>This instance's people in one room. Its gate is never disposed: a waiter may still hold it after retirement.</summary>
#pragma warning disable CA1001 // see above
    private sealed class LocalRoom
#pragma warning restore CA1001
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public Dictionary<string, Held> Members { get; } = new(StringComparer.Ordinal);

        public bool Retired { get; set; }
    }

    private sealed class Held(Member member)
    {
        public Member Member { get; set; } = member;

        /// <summary>Streams of this person open in this room on this instance.</summary>
        public int Streams { get; set; }

        /// <summary>True once the store was told this instance holds the person.</summary>
        public bool InStore { get; set; }

        public ITimer? PendingLeave { get; set; }

        /// <summary>Tells a pending leave's timer apart from a newer one after a quick close, reopen and close.</summary>
        public long LeaveGeneration { get; set; }

        public void CancelPendingLeave()
        {
            PendingLeave?.Dispose();
            PendingLeave = null;
        }
    }
}
