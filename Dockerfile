# SseChat: built with the SDK, run from `dotnet publish` output (outside Development only published output serves
# the static web assets right) on the ASP.NET Core runtime image, as that image's non-root user `app`.
#   docker build -t ssechat .      (compose.yaml builds it for its three instances)

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore from the project file alone first, so the package layer is reused while only code changes.
COPY Directory.Build.props ./
COPY SseChat.Web/SseChat.Web.csproj SseChat.Web/
RUN dotnet restore SseChat.Web/SseChat.Web.csproj
COPY SseChat.Web/ SseChat.Web/
RUN dotnet publish SseChat.Web/SseChat.Web.csproj -c Release -o /app --no-restore -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
# Owned by root and only readable by `app`: the running process cannot change its own code.
COPY --from=build /app ./
COPY deploy/healthcheck.sh ./healthcheck.sh
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
# The image's non-root user `app`, by its numeric id ($APP_UID, set by the image) so that an orchestrator's
# "must not run as root" check can verify it.
USER $APP_UID
# Liveness only (readiness, /readyz, is for balancers: a Redis outage must not mark every instance unhealthy).
# The probe is plain bash (/dev/tcp): this image has no curl or wget, and installing one for a probe adds a package
# to keep patched; see deploy/healthcheck.sh.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["bash", "/app/healthcheck.sh", "/healthz"]
ENTRYPOINT ["dotnet", "SseChat.Web.dll"]
