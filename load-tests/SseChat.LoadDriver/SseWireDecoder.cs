using System.Buffers.Text;
using System.Text;

namespace SseChat.LoadDriver;

/// <summary>
/// Reads one SSE response as its bytes come off the socket: the HTTP/1.1 status line and headers, the chunked (or
/// close-delimited) body, and of the event stream only what a run counts: each dispatched event's kind, this run's
/// sequence number in its data, and the last event id. It keeps no text: nothing is allocated per event, and a
/// byte is looked at once or twice (line ends, then <see cref="LoadText.TryParse"/> on data lines only).
/// </summary>
/// <remarks>
/// Hand-written because the framework's reader (<see cref="HttpClient"/> + <c>SseParser</c>) cost the driver more CPU
/// per delivery than the servers it measured (about 35 µs at 3 × 300 × 100 msg/s), and the driver shares the machine
/// with them. Events follow the WHATWG rules the driver relies on: lines end in LF, CRLF or CR; a blank line
/// dispatches an event that has data; <c>id</c> becomes the last event id at dispatch; comments are skipped.
/// </remarks>
internal sealed class SseWireDecoder
{
    private const int MaxHeadBytes = 16 * 1024;
    private const int MaxLineBytes = 1024 * 1024;

    private readonly byte[] _run;
    private byte[] _line = new byte[512];
    private int _lineLength;
    private bool _lastWasCr;

    private Stage _stage = Stage.Head;
    private bool _chunked;
    private long _chunkLeft;
    private bool _sawChunkDigit;
    private bool _trailerLineEmpty;

    private bool _hasData;
    private EventType _type;
    private long _seq = StreamReceiver.OtherContent;
    private byte[] _idBuffer = new byte[64];
    private int _idBufferLength;
    private byte[] _lastId = new byte[64];
    private int _lastIdLength = -1;

    /// <param name="run">this run's id: its marker in data lines gives the sequence number.</param>
    /// <param name="lastEventId">the id the stream resumes after, kept until an event brings another.</param>
    public SseWireDecoder(ReadOnlySpan<byte> run, string? lastEventId = null)
    {
        _run = run.ToArray();
        if (lastEventId is not null)
        {
            Copy(Encoding.UTF8.GetBytes(lastEventId), ref _lastId, ref _lastIdLength);
        }
    }

    private enum Stage { Head, ChunkSize, ChunkExtension, ChunkData, ChunkDataCr, ChunkDataLf, Trailers, Body, Ended }

    private enum EventType { Message, Reset, Other }

    /// <summary>The response's status code once its head was read (0 before).</summary>
    public int StatusCode { get; private set; }

    /// <summary>True once the head was read.</summary>
    public bool HeadRead => _stage != Stage.Head;

    /// <summary>True after the chunked body's last chunk: the server ended the response.</summary>
    public bool Ended => _stage == Stage.Ended;

    /// <summary>True when the connection closing now ends the response whole (after the last chunk, or a body without framing).</summary>
    public bool CompleteAtClose => _stage is Stage.Ended or Stage.Body;

    /// <summary>The last event id of a dispatched event, or null (allocates: for reconnecting only).</summary>
    public string? LastEventId => _lastIdLength < 0 ? null : Encoding.UTF8.GetString(_lastId, 0, _lastIdLength);

    /// <summary>
    /// Consumes <paramref name="input"/> up to the end of the next dispatched event and gives its item
    /// (<see cref="StreamReceiver.Control"/>, <see cref="StreamReceiver.Reset"/>, <see cref="StreamReceiver.OtherContent"/>
    /// or this run's sequence number), or consumes it all and returns false. Stops after the head so the caller can
    /// check <see cref="StatusCode"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">the bytes are not an HTTP/1.1 response with a well-formed body framing.</exception>
    public bool TryRead(ref ReadOnlySpan<byte> input, out long item)
    {
        item = 0;
        while (!input.IsEmpty)
        {
            switch (_stage)
            {
                case Stage.Head:
                    if (ReadHead(ref input))
                    {
                        return false;
                    }

                    break;
                case Stage.ChunkSize:
                case Stage.ChunkExtension:
                    ReadChunkSize(ref input);
                    break;
                case Stage.ChunkDataCr:
                case Stage.ChunkDataLf:
                    ReadChunkEnd(ref input);
                    break;
                case Stage.Trailers:
                    ReadTrailers(ref input);
                    break;
                case Stage.ChunkData:
                {
                    var take = (int)Math.Min(_chunkLeft, input.Length);
                    var data = input[..take];
                    var used = ReadEvents(data, out var dispatched, out item);
                    input = input[used..];
                    _chunkLeft -= used;
                    if (_chunkLeft == 0)
                    {
                        _stage = Stage.ChunkDataCr;
                    }

                    if (dispatched)
                    {
                        return true;
                    }

                    break;
                }

                case Stage.Body:
                {
                    var used = ReadEvents(input, out var dispatched, out item);
                    input = input[used..];
                    if (dispatched)
                    {
                        return true;
                    }

                    break;
                }

                default:
                    throw new InvalidDataException("bytes after the response's last chunk");
            }
        }

        return false;
    }

    /// <summary>True when the head ended in this input (the rest is body).</summary>
    private bool ReadHead(ref ReadOnlySpan<byte> input)
    {
        while (!input.IsEmpty)
        {
            var lf = input.IndexOf((byte)'\n');
            var part = lf < 0 ? input : input[..lf];
            Append(part, MaxHeadBytes, "response head");
            input = lf < 0 ? [] : input[(lf + 1)..];
            if (lf < 0)
            {
                return false;
            }

            var line = _line.AsSpan(0, _lineLength).TrimEnd((byte)'\r');
            _lineLength = 0;
            if (StatusCode == 0)
            {
                // "HTTP/1.1 200 OK"
                if (!line.StartsWith("HTTP/1."u8) || line.Length < 12 || !Utf8Parser.TryParse(line[9..12], out int status, out var used) || used != 3)
                {
                    throw new InvalidDataException("not an HTTP/1.x status line");
                }

                StatusCode = status;
            }
            else if (line.IsEmpty)
            {
                _stage = _chunked ? Stage.ChunkSize : Stage.Body;
                return true;
            }
            else if (line.Length > TransferEncoding.Length && Ascii.EqualsIgnoreCase(line[..TransferEncoding.Length], TransferEncoding)
                && line.IndexOf("chunked"u8) >= 0)
            {
                _chunked = true;
            }
        }

        return false;
    }

    private static ReadOnlySpan<byte> TransferEncoding => "transfer-encoding:"u8;

    private void ReadChunkSize(ref ReadOnlySpan<byte> input)
    {
        while (!input.IsEmpty)
        {
            var b = input[0];
            input = input[1..];
            if (b == (byte)'\n')
            {
                if (!_sawChunkDigit)
                {
                    throw new InvalidDataException("a chunk without a size");
                }

                _sawChunkDigit = false;
                _stage = _chunkLeft == 0 ? Stage.Trailers : Stage.ChunkData;
                _trailerLineEmpty = true;
                return;
            }

            if (_stage == Stage.ChunkExtension || b == (byte)'\r')
            {
                continue;
            }

            if (b == (byte)';')
            {
                _stage = Stage.ChunkExtension;
                continue;
            }

            var digit = HexValue(b);
            if (digit < 0 || _chunkLeft > int.MaxValue)
            {
                throw new InvalidDataException("a malformed chunk size");
            }

            _chunkLeft = (_chunkLeft << 4) | (uint)digit;
            _sawChunkDigit = true;
        }
    }

    /// <summary>After the last chunk: trailer lines (skipped) up to an empty one.</summary>
    private void ReadTrailers(ref ReadOnlySpan<byte> input)
    {
        while (!input.IsEmpty)
        {
            var b = input[0];
            input = input[1..];
            if (b == (byte)'\n')
            {
                if (_trailerLineEmpty)
                {
                    _stage = Stage.Ended;
                    return;
                }

                _trailerLineEmpty = true;
            }
            else if (b != (byte)'\r')
            {
                _trailerLineEmpty = false;
            }
        }
    }

    private void ReadChunkEnd(ref ReadOnlySpan<byte> input)
    {
        var expected = _stage == Stage.ChunkDataCr ? (byte)'\r' : (byte)'\n';
        if (input[0] != expected)
        {
            throw new InvalidDataException("a chunk longer than its size");
        }

        input = input[1..];
        _stage = _stage == Stage.ChunkDataCr ? Stage.ChunkDataLf : Stage.ChunkSize;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>Reads event-stream lines from body bytes up to the end of a dispatched event; returns the bytes used.</summary>
    private int ReadEvents(ReadOnlySpan<byte> data, out bool dispatched, out long item)
    {
        dispatched = false;
        item = 0;
        var used = 0;
        while (used < data.Length)
        {
            var rest = data[used..];
            if (_lastWasCr)
            {
                // The LF of a CRLF whose CR ended the previous line.
                _lastWasCr = false;
                if (rest[0] == (byte)'\n')
                {
                    used++;
                    continue;
                }
            }

            var end = rest.IndexOfAny((byte)'\n', (byte)'\r');
            if (end < 0)
            {
                Append(rest, MaxLineBytes, "event-stream line");
                return data.Length;
            }

            _lastWasCr = rest[end] == (byte)'\r';
            used += end + 1;
            ReadOnlySpan<byte> line;
            if (_lineLength == 0)
            {
                line = rest[..end];
            }
            else
            {
                Append(rest[..end], MaxLineBytes, "event-stream line");
                line = _line.AsSpan(0, _lineLength);
            }

            dispatched = ReadLine(line, out item);
            _lineLength = 0;
            if (dispatched)
            {
                return used;
            }
        }

        return used;
    }

    private bool ReadLine(ReadOnlySpan<byte> line, out long item)
    {
        item = 0;
        if (line.IsEmpty)
        {
            return Dispatch(out item);
        }

        if (line[0] == (byte)':')
        {
            return false;
        }

        var colon = line.IndexOf((byte)':');
        var name = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? [] : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ')
        {
            value = value[1..];
        }

        if (name.SequenceEqual("data"u8))
        {
            _hasData = true;
            if (_seq == StreamReceiver.OtherContent && LoadText.TryParse(value, _run, out var seq, out _))
            {
                _seq = seq;
            }
        }
        else if (name.SequenceEqual("event"u8))
        {
            _type = value.IsEmpty || value.SequenceEqual("message"u8) ? EventType.Message
                : value.SequenceEqual("reset"u8) ? EventType.Reset
                : EventType.Other;
        }
        else if (name.SequenceEqual("id"u8) && value.IndexOf((byte)0) < 0)
        {
            Copy(value, ref _idBuffer, ref _idBufferLength);
        }

        return false;
    }

    private bool Dispatch(out long item)
    {
        item = _type switch
        {
            EventType.Message => _seq,
            EventType.Reset => StreamReceiver.Reset,
            _ => StreamReceiver.Control,
        };
        var dispatched = _hasData;
        if (dispatched && _idBufferLength > 0)
        {
            Copy(_idBuffer.AsSpan(0, _idBufferLength), ref _lastId, ref _lastIdLength);
        }

        _hasData = false;
        _type = EventType.Message;
        _seq = StreamReceiver.OtherContent;
        return dispatched;
    }

    private void Append(ReadOnlySpan<byte> bytes, int limit, string what)
    {
        if (_lineLength + bytes.Length > limit)
        {
            throw new InvalidDataException($"a {what} longer than {limit} bytes");
        }

        if (_lineLength + bytes.Length > _line.Length)
        {
            Array.Resize(ref _line, Math.Max(_line.Length * 2, _lineLength + bytes.Length));
        }

        bytes.CopyTo(_line.AsSpan(_lineLength));
        _lineLength += bytes.Length;
    }

    private static void Copy(ReadOnlySpan<byte> value, ref byte[] into, ref int length)
    {
        if (value.Length > into.Length)
        {
            into = new byte[value.Length];
        }

        value.CopyTo(into);
        length = value.Length;
    }
}
