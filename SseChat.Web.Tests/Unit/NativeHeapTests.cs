using System.Runtime.InteropServices;
using SseChat.Web.Hosting;

namespace SseChat.Web.Tests.Unit;

public sealed class NativeHeapTests
{
    [Fact]
    public void Freed_native_memory_in_the_middle_of_an_arena_is_given_back()
    {
        Assert.True(OperatingSystem.IsLinux(), "the suite runs on Linux, where the trim calls glibc's malloc_trim");

        // 32 MB in blocks under malloc's mmap threshold, then one block after them, so that freeing the first ones
        // leaves free pages in the arena's middle, which glibc keeps resident until trimmed.
        var ones = new byte[64 * 1024];
        Array.Fill(ones, (byte)1);
        var blocks = new IntPtr[512];
        for (var i = 0; i < blocks.Length; i++)
        {
            blocks[i] = Marshal.AllocHGlobal(ones.Length);
            Marshal.Copy(ones, 0, blocks[i], ones.Length);
        }

        var guard = Marshal.AllocHGlobal(64);
        try
        {
            foreach (var block in blocks)
            {
                Marshal.FreeHGlobal(block);
            }

            Assert.True(NativeHeap.TryTrim(), "malloc_trim gave nothing back");
        }
        finally
        {
            Marshal.FreeHGlobal(guard);
        }
    }
}
