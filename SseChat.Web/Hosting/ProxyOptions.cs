using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace SseChat.Web.Hosting;

/// <summary>
/// Which balancers may tell us the client's address and scheme (X-Forwarded-For / -Proto). Only those are believed:
/// anyone else could forge the headers to dodge per-address limits or make cookies lose their Secure flag.
/// Loopback is always trusted (a balancer on the same host).
/// </summary>
public sealed class ProxyOptions
{
    public const string SectionName = "ForwardedHeaders";

    /// <summary>Addresses of trusted proxies, e.g. "10.0.0.5".</summary>
    public IList<string> KnownProxies { get; } = [];

    /// <summary>Networks of trusted proxies in CIDR form, e.g. "172.16.0.0/12".</summary>
    public IList<string> KnownNetworks { get; } = [];

    internal sealed class ProxyOptionsValidator : IValidateOptions<ProxyOptions>
    {
        public ValidateOptionsResult Validate(string? name, ProxyOptions options)
        {
            var errors = new List<string>();
            for (var i = 0; i < options.KnownProxies.Count; i++)
            {
                if (!IPAddress.TryParse(options.KnownProxies[i], out _))
                {
                    errors.Add($"{SectionName}:KnownProxies:{i} is not an IP address: '{options.KnownProxies[i]}'.");
                }
            }

            for (var i = 0; i < options.KnownNetworks.Count; i++)
            {
                if (!System.Net.IPNetwork.TryParse(options.KnownNetworks[i], out _))
                {
                    errors.Add($"{SectionName}:KnownNetworks:{i} is not a network in CIDR form (e.g. 172.16.0.0/12): '{options.KnownNetworks[i]}'.");
                }
            }

            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
