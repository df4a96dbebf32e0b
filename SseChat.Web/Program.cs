using SseChat.Web.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddSseChat();
return await builder.RunSseChatAsync();

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
