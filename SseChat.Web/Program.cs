using SseChat.Web.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddSseChat();

var app = builder.Build();
app.MapSseChat();
app.Run();

/// <summary>The entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
