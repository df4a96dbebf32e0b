using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using SseChat.Web.Presence;

namespace SseChat.Web.Chat;

/// <summary>
/// Renders the HTML fragment of one chat event. The page's history and the SSE stream use this same code,
/// so a message looks the same whether it was loaded or pushed. Every user-supplied value goes through the
/// HTML encoder; nothing else in the fragment comes from a user.
/// </summary>
public class FragmentRenderer
{
    // Letters of every script stay readable in the markup; the encoder still escapes < > & " ' and the rest.
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    public static string KindName(ChatEventKind kind) => kind switch
    {
        ChatEventKind.Message => "message",
        ChatEventKind.UserJoined => "user-joined",
        ChatEventKind.UserLeft => "user-left",
        ChatEventKind.PresenceChanged => "presence",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public virtual string Render(ChatEvent e)
    {
        var sb = new StringBuilder(256 + e.Text.Length);

        switch (e.Kind)
        {
            case ChatEventKind.Message:
                sb.Append("<li class=\"msg\" data-kind=\"message\"");
                if (e.Id is { } id)
                {
                    // A log id is digits and a dash: nothing to encode.
                    var text = id.ToString();
                    sb.Append(" id=\"m-").Append(text).Append('"');
                }

                AppendAuthor(sb, e.Author);
                // One line, so one `data:` line on the stream: every client splits an event into its lines and
                // joins its data lines again. (A space renders as the newline it replaces; the text's own line breaks
                // are encoded.)
                sb.Append("><span class=\"nick\">").Append(Encoder.Encode(e.Nick)).Append("</span> ");
                AppendTime(sb, e.Timestamp);
                sb.Append("<p class=\"text\">").Append(Encoder.Encode(e.Text)).Append("</p>")
                  .Append("</li>");
                break;
            case ChatEventKind.UserJoined:
            case ChatEventKind.UserLeft:
                AppendNotice(sb, e.Kind, new PresentPerson(e.Nick, e.Author ?? ""), e.Timestamp);
                break;
            case ChatEventKind.PresenceChanged:
                throw new ArgumentException("A change of names has no fragment of its own: it shows as the list (RenderPresenceUpdate).", nameof(e));
            default:
                throw new ArgumentOutOfRangeException(nameof(e), e.Kind, "Unknown event kind.");
        }

        return sb.ToString();
    }

    /// <summary>
    /// The list of people in the room. Out of band (in a stream fragment) it replaces the page's list wherever htmx
    /// finds it; on its own in a stream it is a fragment of kind "presence" that appends nothing to the messages
    /// (sent when a stream opens for someone already in the room, and when only names changed).
    /// </summary>
    public string RenderPresence(PresenceSnapshot snapshot, bool outOfBand)
    {
        var sb = new StringBuilder(128 + (snapshot.People.Count * 64));
        AppendPresence(sb, snapshot, outOfBand);
        return sb.ToString();
    }

    /// <summary>
    /// One presence update of a stream: what changed, as one line in the conversation, then the list out of band.
    /// One change is the classic notice (<c>data-kind="user-joined"</c> or <c>"user-left"</c>, with <c>data-nick</c>
    /// and <c>data-author</c>); several are one summary line (<c>data-kind="presence-summary"</c>, with
    /// <c>data-joined</c> and <c>data-left</c> counts) naming the first <see cref="NamesInSummary"/> of each kind,
    /// e.g. "alice, bob, carol and 97 others joined · dave left"; none (only names changed) is the list alone. Without
    /// a list (it could not be read) it is the line alone; with neither, empty.
    /// </summary>
    /// <param name="joined">Who joined, in the order they came.</param>
    /// <param name="left">Who left, in the order they went.</param>
    /// <param name="at">When the last of these changes happened.</param>
    public string RenderPresenceUpdate(IReadOnlyList<PresentPerson> joined, IReadOnlyList<PresentPerson> left, DateTimeOffset at, PresenceSnapshot? list)
    {
        var sb = new StringBuilder(512 + ((list?.People.Count ?? 0) * 64));
        switch (joined.Count + left.Count)
        {
            case 0:
                break;
            case 1:
                AppendNotice(sb, joined.Count == 1 ? ChatEventKind.UserJoined : ChatEventKind.UserLeft, joined.Count == 1 ? joined[0] : left[0], at);
                break;
            default:
                sb.Append("<li class=\"notice presence-summary\" data-kind=\"presence-summary\" data-joined=\"")
                  .Append(joined.Count.ToString(CultureInfo.InvariantCulture)).Append("\" data-left=\"")
                  .Append(left.Count.ToString(CultureInfo.InvariantCulture)).Append("\">");
                AppendGroup(sb, "joined", joined);
                if (joined.Count > 0 && left.Count > 0)
                {
                    sb.Append(" · ");
                }

                AppendGroup(sb, "left", left);
                sb.Append(' ');
                AppendTime(sb, at);
                sb.Append("</li>");
                break;
        }

        if (list is not null)
        {
            AppendPresence(sb, list, outOfBand: true);
        }

        return sb.ToString();
    }

    /// <summary>How many names of each kind a summary line shows; the rest are counted ("and 97 others").</summary>
    public const int NamesInSummary = 3;

    private static void AppendNotice(StringBuilder sb, ChatEventKind kind, PresentPerson person, DateTimeOffset at)
    {
        var name = KindName(kind);
        sb.Append("<li class=\"notice ").Append(name).Append("\" data-kind=\"").Append(name).Append('"');
        AppendAuthor(sb, person.Author);
        sb.Append(" data-nick=\"").Append(Encoder.Encode(person.Nick)).Append("\">")
          .Append("<span class=\"nick\">").Append(Encoder.Encode(person.Nick)).Append("</span> ")
          .Append(kind == ChatEventKind.UserJoined ? "joined" : "left").Append(' ');
        AppendTime(sb, at);
        sb.Append("</li>");
    }

    /// <summary>"a joined", "a and b joined", "a, b and c joined", "a, b, c and 97 others joined"; nothing for nobody.</summary>
    private static void AppendGroup(StringBuilder sb, string verb, IReadOnlyList<PresentPerson> people)
    {
        if (people.Count == 0)
        {
            return;
        }

        sb.Append("<span class=\"").Append(verb).Append("\">");
        var shown = Math.Min(people.Count, NamesInSummary);
        var others = people.Count - shown;
        for (var i = 0; i < shown; i++)
        {
            if (i > 0)
            {
                sb.Append(i == shown - 1 && others == 0 ? " and " : ", ");
            }

            sb.Append("<span class=\"nick\">").Append(Encoder.Encode(people[i].Nick)).Append("</span>");
        }

        if (others > 0)
        {
            sb.Append(" and ").Append(others.ToString("N0", CultureInfo.InvariantCulture)).Append(others == 1 ? " other" : " others");
        }

        sb.Append(' ').Append(verb).Append("</span>");
    }

    private static void AppendTime(StringBuilder sb, DateTimeOffset at)
    {
        var time = at.ToUniversalTime();
        sb.Append("<time datetime=\"").Append(time.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)).Append("\">")
          .Append(time.ToString("HH:mm", CultureInfo.InvariantCulture)).Append("</time>");
    }

    private static void AppendPresence(StringBuilder sb, PresenceSnapshot snapshot, bool outOfBand)
    {
        sb.Append("<section id=\"presence\" class=\"presence\" data-kind=\"presence\" aria-labelledby=\"presence-title\"");
        if (outOfBand)
        {
            sb.Append(" hx-swap-oob=\"true\"");
        }

        sb.Append("><h2 id=\"presence-title\">Here now <span class=\"count\">")
          .Append(snapshot.Count.ToString(CultureInfo.InvariantCulture)).Append("</span></h2><ul>");
        foreach (var person in snapshot.People)
        {
            sb.Append("<li");
            AppendAuthor(sb, person.Author);
            sb.Append("><span class=\"nick\">").Append(Encoder.Encode(person.Nick)).Append("</span></li>");
        }

        sb.Append("</ul>");
        if (snapshot.More > 0)
        {
            // The list is capped (Chat:PresenceListLimit): the count above is the true one.
            sb.Append("<p class=\"more\">and ").Append(snapshot.More.ToString("N0", CultureInfo.InvariantCulture)).Append(" more</p>");
        }

        sb.Append("</section>");
    }

    private static void AppendAuthor(StringBuilder sb, string? author)
    {
        if (!string.IsNullOrEmpty(author))
        {
            sb.Append(" data-author=\"").Append(Encoder.Encode(author)).Append('"');
        }
    }
}
