package attnc.jvm.emit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The L2 cache of one core, which the CPU kernel's tiles are sized for: read once from Linux's
 * sysfs ({@code /sys/devices/system/cpu/cpu0/cache/index*}, the unified level-2 entry); 1 MiB
 * (Zen 4/5, recent Xeons have 1–2 MiB) where it cannot be read.
 */
public final class CpuCache {
    private static final long FALLBACK = 1L << 20;
    private static final long L2 = readL2();

    private CpuCache() {}

    /** Bytes of L2 per core. */
    public static long l2Bytes() { return L2; }

    private static long readL2() {
        for (int index = 0; index < 8; index++) {
            Path dir = Path.of("/sys/devices/system/cpu/cpu0/cache/index" + index);
            try {
                if (!Files.readString(dir.resolve("level")).trim().equals("2")) continue;
                if (Files.readString(dir.resolve("type")).trim().equals("Instruction")) continue;
                return parseSize(Files.readString(dir.resolve("size")).trim());
            } catch (IOException | RuntimeException e) {
                return FALLBACK;
            }
        }
        return FALLBACK;
    }

    /** "1024K", "2M" or a plain byte count; the fallback for anything else. */
    static long parseSize(String text) {
        try {
            char unit = Character.toUpperCase(text.charAt(text.length() - 1));
            long scale = unit == 'K' ? 1L << 10 : unit == 'M' ? 1L << 20 : 1;
            long value = Long.parseLong(scale == 1 ? text : text.substring(0, text.length() - 1));
            return value > 0 ? value * scale : FALLBACK;
        } catch (RuntimeException e) {
            return FALLBACK;
        }
    }
}
