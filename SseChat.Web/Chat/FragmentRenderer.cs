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
        var time = e.Timestamp.ToUniversalTime();
        var iso = time.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        var shown = time.ToString("HH:mm", CultureInfo.InvariantCulture);

        switch (e.Kind)
        {
            case ChatEventKind.Message:
                sb.Append("<li class=\"msg\" data-kind=\"message\"");
                if (e.Id is not null)
                {
                    sb.Append(" id=\"m-").Append(Encoder.Encode(e.Id)).Append("\" data-id=\"").Append(Encoder.Encode(e.Id)).Append('"');
                }

                AppendAuthor(sb, e.Author);
                sb.Append(" data-nick=\"").Append(Encoder.Encode(e.Nick)).Append("\">\n")
                  .Append("<span class=\"nick\">").Append(Encoder.Encode(e.Nick)).Append("</span>\n")
                  .Append("<time datetime=\"").Append(iso).Append("\">").Append(shown).Append("</time>\n")
                  .Append("<p class=\"text\">").Append(Encoder.Encode(e.Text)).Append("</p>\n")
                  .Append("</li>");
                break;
            case ChatEventKind.UserJoined:
            case ChatEventKind.UserLeft:
                var kind = KindName(e.Kind);
                var verb = e.Kind == ChatEventKind.UserJoined ? "joined" : "left";
                sb.Append("<li class=\"notice ").Append(kind).Append("\" data-kind=\"").Append(kind)
                  .Append('"');
                AppendAuthor(sb, e.Author);
                sb.Append(" data-nick=\"").Append(Encoder.Encode(e.Nick)).Append("\">")
                  .Append("<span class=\"nick\">").Append(Encoder.Encode(e.Nick)).Append("</span> ").Append(verb)
                  .Append(" <time datetime=\"").Append(iso).Append("\">").Append(shown).Append("</time></li>");
                if (e.Presence is { } presence)
                {
                    // After the notice's root element: the list item is what htmx appends, this part is swapped out of band.
                    AppendPresence(sb, presence, outOfBand: true);
                }

                break;
            case ChatEventKind.PresenceChanged:
                AppendPresence(sb, e.Presence ?? PresenceSnapshot.Empty, outOfBand: true);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(e), e.Kind, "Unknown event kind.");
        }

        return sb.ToString();
    }

    /// <summary>
    /// The list of people in the room. Out of band (in a stream fragment) it replaces the page's list wherever htmx
    /// finds it; on its own in a stream it is a fragment of kind "presence" that appends nothing to the messages
    /// (sent when a stream opens for someone already in the room, and when someone changes their name).
    /// </summary>
    public string RenderPresence(PresenceSnapshot snapshot, bool outOfBand)
    {
        var sb = new StringBuilder(128 + (snapshot.People.Count * 64));
        AppendPresence(sb, snapshot, outOfBand);
        return sb.ToString();
    }

    private static void AppendPresence(StringBuilder sb, PresenceSnapshot snapshot, bool outOfBand)
    {
        sb.Append("<section id=\"presence\" class=\"presence\" data-kind=\"presence\" aria-labelledby=\"presence-title\"");
        if (outOfBand)
        {
            sb.Append(" hx-swap-oob=\"true\"");
        }

        sb.Append("><h2 id=\"presence-title\">Here now <span class=\"count\">")
          .Append(snapshot.People.Count.ToString(CultureInfo.InvariantCulture)).Append("</span></h2><ul>");
        foreach (var person in snapshot.Ordered)
        {
            sb.Append("<li");
            AppendAuthor(sb, person.Author);
            sb.Append("><span class=\"nick\">").Append(Encoder.Encode(person.Nick)).Append("</span></li>");
        }

        sb.Append("</ul></section>");
    }

    private static void AppendAuthor(StringBuilder sb, string? author)
    {
        if (!string.IsNullOrEmpty(author))
        {
            sb.Append(" data-author=\"").Append(Encoder.Encode(author)).Append('"');
        }
    }
}
