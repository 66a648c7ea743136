package attnc.jvm.kernel;

/**
 * The key tiles one query tile visits: runs {@code first[r]..last[r]} of consecutive non-empty
 * tiles, each all FULL (no mask evaluated) or all PARTIAL. The kernel's own copy of the
 * analysis's row, so generated classes need nothing outside this package.
 */
public record KvRuns(int[] first, int[] last, boolean[] full) {
    public int runs() { return first.length; }
}
