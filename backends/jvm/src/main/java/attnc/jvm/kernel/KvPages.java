package attnc.jvm.kernel;

import attnc.ir.DType;
import java.lang.foreign.MemorySegment;

/**
 * K or V rows [width] addressed through a block table: row (b, kvHead, kv) sits at element
 * {@code base + table[b·maxPages + kv / page]·strideP + (kv % page)·strideSlot + kvHead·strideH}.
 * A paged cache ({@code [P, page, Hkv, width]}) is read exactly so; a contiguous {@code [B, Hkv, N,
 * width]} tensor is the same with one page per sequence, as long as the sequence (table[b] = b,
 * strideP = the batch stride). The decode kernel reads float32 rows on the heap in place, and
 * copies (converting) rows of any other storage.
 *
 * @param heap float32 values on the heap, or null when the rows live in {@code segment}
 * @param pageShift log2 of the page size (31 for one page per sequence)
 */
public record KvPages(float[] heap, MemorySegment segment, DType dtype, long base, long strideP, long strideSlot, long strideH,
                      int width, int[] table, int maxPages, int pageShift) {

    /** Floats in a 64-byte cache line. */
    private static final int LINE_FLOATS = 16;

    /** Rows of a strided [B, Hkv, N, width] operand, one page per sequence. */
    public static KvPages contiguous(Operand rows, int batch) {
        int[] identity = new int[batch];
        for (int b = 0; b < batch; b++) identity[b] = b;
        return switch (rows) {
            case Operand.Heap h -> new KvPages(h.data(), null, DType.FLOAT32, h.base(), h.strideB(), h.strideN(), h.strideH(), h.width(), identity, 1, 31);
            case Operand.Segment s -> new KvPages(null, s.segment(), s.dtype(), s.base(), s.strideB(), s.strideN(), s.strideH(), s.width(), identity, 1, 31);
        };
    }

    /** Element index of row (b, kvHead, kv)'s first value. */
    public long rowAt(int b, int kvHead, int kv) {
        int page = table[b * maxPages + (kv >>> pageShift)];
        return base + page * strideP + (kv & ((int) ((1L << pageShift) - 1))) * strideSlot + kvHead * strideH;
    }

    /** Whether a key's rows of every KV head lie side by side, closer than one key's slot to the next ({@code [P, page, Hkv, width]}). */
    public boolean interleavesHeads() { return strideH < strideSlot; }

    /**
     * Reads one float a 64-byte line of rows kv0 .. kv0 + keys − 1 of KV heads [kvHead, kvHead +
     * heads) of sequence b, key by key and head by head (address order where heads lie side by
     * side), and returns their sum for the caller to keep: a prefetch Java has no instruction for.
     * Loads that nothing waits on let the core keep many cache misses in flight, where the same
     * misses met inside the products stall them one tile row at a time (measured at one thread,
     * B = 8, Nkv = 4K, D = 128: 35-49 against 24-30 ms contiguous, 52-56 against 29-34 ms in
     * pages of 16). Rows not on the heap are copied by {@link #locate} instead: nothing to read.
     */
    public float touch(int b, int kvHead, int heads, int kv0, int keys) {
        if (heap == null) return 0f;
        // Four sums, so that the adds (one a line) do not wait on one another: from cache one chain of them took
        // longer than the reads.
        float sum0 = 0f, sum1 = 0f, sum2 = 0f, sum3 = 0f;
        for (int j = 0; j < keys; j++) {
            long row = rowAt(b, kvHead, kv0 + j);
            for (int s = 0; s < heads; s++) {
                int from = Math.toIntExact(row + s * strideH), to = from + width, i = from;
                for (; i + 3 * LINE_FLOATS < to; i += 4 * LINE_FLOATS) {
                    sum0 += heap[i];
                    sum1 += heap[i + LINE_FLOATS];
                    sum2 += heap[i + 2 * LINE_FLOATS];
                    sum3 += heap[i + 3 * LINE_FLOATS];
                }
                for (; i < to; i += LINE_FLOATS) sum0 += heap[i];
            }
        }
        return (sum0 + sum1) + (sum2 + sum3);
    }

    /** Whether rows are read in place: float32 on the heap, a whole number of vectors wide. */
    public boolean inPlace() { return heap != null && width % Lanes.L == 0; }

    /**
     * Rows kv0 .. kv0 + keys − 1 of sequence b's kv head: the array to read them from, and their
     * offsets in {@code offsets}: the cache itself when {@link #inPlace}, else {@code copy}, each
     * row at j · stride, zero past the width.
     */
    public float[] locate(int b, int kvHead, int kv0, int keys, float[] copy, int stride, int[] offsets) {
        if (inPlace()) {
            // A page at a time: one table read, then the slots' stride.
            for (int j = 0; j < keys; ) {
                int kv = kv0 + j, slot = kv & (int) ((1L << pageShift) - 1);
                int run = (int) Math.min(keys - j, (1L << pageShift) - slot);
                long row = rowAt(b, kvHead, kv);
                Math.toIntExact(row + (run - 1) * strideSlot); // the run's last row fits an int index, so every row before it does
                for (int e = 0; e < run; e++) offsets[j + e] = (int) (row + e * strideSlot);
                j += run;
            }
            return heap;
        }
        for (int j = 0; j < keys; j++) {
            readRow(b, kvHead, kv0 + j, copy, j * stride);
            java.util.Arrays.fill(copy, j * stride + width, (j + 1) * stride, 0f);
            offsets[j] = j * stride;
        }
        return copy;
    }

    /** Copies row (b, kvHead, kv) into {@code dst[off .. off + width)} as float32. */
    public void readRow(int b, int kvHead, int kv, float[] dst, int off) {
        long from = rowAt(b, kvHead, kv);
        if (heap != null) {
            System.arraycopy(heap, Math.toIntExact(from), dst, off, width);
            return;
        }
        Operand.Segment.copyRow(segment, dtype, from, dst, off, width);
    }
}
