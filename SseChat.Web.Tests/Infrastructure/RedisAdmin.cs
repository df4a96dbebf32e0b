using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace SseChat.Web.Tests.Infrastructure;

/// <summary>
/// One connection to a redis-server that a test keeps open, for commands that must still get through while the
/// server refuses new connections (e.g. after <c>CONFIG SET maxclients</c>). Speaks just enough RESP: a command as an
/// array of bulk strings, a reply as its text (a bulk string's content, an integer's digits, "+OK", "-ERR ...", or an
/// array's elements one per line).
/// </summary>
public sealed class RedisAdmin : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly BufferedStream _input;

    private RedisAdmin(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
        _input = new BufferedStream(_stream);
    }

    public static async Task<RedisAdmin> ConnectAsync(int port)
    {
        var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port).WaitAsync(Wait.Default);
        return new RedisAdmin(client);
    }

    public async Task<string> SendAsync(params string[] args)
    {
        var command = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var arg in args)
        {
            command.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        }

        await _stream.WriteAsync(Encoding.UTF8.GetBytes(command.ToString()));
        using var bound = new CancellationTokenSource(Wait.Default);
        return await ReadReplyAsync(bound.Token);
    }

    private async Task<string> ReadReplyAsync(CancellationToken cancellationToken)
    {
        var line = await ReadLineAsync(cancellationToken);
        if (line[0] == '*')
        {
            var elements = new string[int.Parse(line.AsSpan(1), CultureInfo.InvariantCulture)];
            for (var i = 0; i < elements.Length; i++)
            {
                elements[i] = await ReadReplyAsync(cancellationToken);
            }

            return string.Join('\n', elements);
        }

        if (line[0] != '$')
        {
            return line[0] == ':' ? line[1..] : line;
        }

        var length = int.Parse(line.AsSpan(1), CultureInfo.InvariantCulture);
        if (length < 0)
        {
            return "";
        }

        var bytes = new byte[length + 2];
        await _input.ReadExactlyAsync(bytes, cancellationToken);
        return Encoding.UTF8.GetString(bytes, 0, length);
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (line.Count < 2 || line[^2] != '\r' || line[^1] != '\n')
        {
            await _input.ReadExactlyAsync(one, cancellationToken);
            line.Add(one[0]);
        }

        return Encoding.UTF8.GetString([.. line[..^2]]);
    }

    /// <summary>How many clients the server lists for <c>CLIENT LIST TYPE {type}</c>.</summary>
    public async Task<int> CountClientsAsync(string type) =>
        (await SendAsync("CLIENT", "LIST", "TYPE", type)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    public async ValueTask DisposeAsync()
    {
        await _input.DisposeAsync();
        await _stream.DisposeAsync();
        _client.Dispose();
    }
}
