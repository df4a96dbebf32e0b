using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using StackExchange.Redis;

namespace SseChat.Web.Bus;

/// <summary>
/// The Data Protection key ring (antiforgery tokens, cookies) in Redis, shared by every instance: the framework's
/// <see cref="RedisXmlRepository"/>, whose failures while Redis is away surface as <see cref="BusUnavailableException"/>
/// (a 503 "try again"), like every other Redis failure.
/// </summary>
internal sealed class RedisKeyRing(Func<IConnectionMultiplexer> redis, RedisKeys keys) : IXmlRepository
{
    private readonly RedisXmlRepository _inner = new(() => redis().GetDatabase(), keys.DataProtectionKeys);

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        try
        {
            return _inner.GetAllElements();
        }
        catch (RedisException ex)
        {
            throw new BusUnavailableException("Redis read of the Data Protection key ring failed.", ex);
        }
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        try
        {
            _inner.StoreElement(element, friendlyName);
        }
        catch (RedisException ex)
        {
            throw new BusUnavailableException("Redis write to the Data Protection key ring failed.", ex);
        }
    }
}
