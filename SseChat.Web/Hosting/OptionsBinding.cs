using Microsoft.Extensions.Options;

namespace SseChat.Web.Hosting;

/// <summary>How every settings section is bound, so that every bad value stops the app the same way.</summary>
internal static class OptionsBinding
{
    /// <summary>
    /// Binds a section so that a value the binder cannot convert (e.g. <c>Chat:HeartbeatInterval=soon</c>) fails the
    /// options' validation, with the binder's message naming the setting, like any other invalid value.
    /// </summary>
    public static OptionsBuilder<T> BindSection<T>(this IServiceCollection services, string section)
        where T : class =>
        services.AddOptions<T>().Configure<IConfiguration>((options, configuration) =>
        {
            try
            {
                configuration.GetSection(section).Bind(options);
            }
            catch (InvalidOperationException ex)
            {
                throw new OptionsValidationException(section, typeof(T), [ex.Message]);
            }
        });
}
