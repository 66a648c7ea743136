package attnc.launch;

import java.util.Locale;

/**
 * What a launch may allocate, checked before it allocates: a Java array holds at most
 * {@link #MAX_ARRAY} elements, and the heap has what {@code -Xmx} left free. A launch that cannot
 * fit is refused with the figure and the limit, instead of running for a minute and dying with an
 * {@link OutOfMemoryError}.
 */
public final class Memory {
    /** The largest array the JVM allocates (a few header words below {@code Integer.MAX_VALUE}). */
    public static final long MAX_ARRAY = Integer.MAX_VALUE - 8;

    private Memory() {}

    /** The product of {@code dims}, refused when one array of that many elements cannot exist. */
    public static long elements(String what, long... dims) {
        double exact = 1;
        for (long d : dims) {
            if (d < 0) throw new ShapeException(what + ": negative size " + d);
            exact *= d;
        }
        if (exact > MAX_ARRAY) {
            throw new ShapeException(String.format(Locale.ROOT, "%s would have %.3g elements, more than one Java array holds (%d); "
                    + "expected smaller sizes", what, exact, MAX_ARRAY));
        }
        long n = 1;
        for (long d : dims) n *= d;
        return n;
    }

    /**
     * Refuses a launch whose allocations ({@code bytes} in all, described by {@code breakdown})
     * exceed the heap still free. Collects garbage once before refusing, so a refusal is never
     * caused by garbage the next allocation would have reclaimed.
     */
    public static void require(long bytes, String breakdown) {
        if (bytes <= free()) return;
        System.gc();
        long free = free();
        if (bytes <= free) return;
        throw new ShapeException("the launch needs " + human(bytes) + " (" + breakdown + ") but the Java heap has "
                + human(free) + " free of " + human(Runtime.getRuntime().maxMemory())
                + " (-Xmx); expected smaller sizes or a larger heap (java -Xmx...; for ./attnc, ATTNC_JAVA_OPTS=-Xmx...)");
    }

    private static long free() {
        Runtime r = Runtime.getRuntime();
        return r.maxMemory() - (r.totalMemory() - r.freeMemory());
    }

    /** 1.5 GiB, 12.0 MiB, 512 B. */
    public static String human(long bytes) {
        if (bytes < 1024) return bytes + " B";
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double value = bytes;
        int unit = -1;
        while (value >= 1024 && unit < units.length - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
    }
}
