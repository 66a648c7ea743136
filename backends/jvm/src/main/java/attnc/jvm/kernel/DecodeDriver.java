package attnc.jvm.kernel;

import java.util.ArrayList;
import java.util.List;

/**
 * Schedules a decode launch: one work item per (sequence, KV heads, split of its keys), handed
 * out dynamically on the {@link Driver.Pool}. An item holds one KV head, or all of a sequence's
 * where the cache keeps a key's heads side by side (a paged pool {@code [P, page, Hkv, D]}): one
 * head's rows there are strided by Hkv·D, so only all heads together read a page front to back
 * (one thread, B = 8, Nkv = 4K, pages of 16, Nq = 1: 69-83 ms head by head, 34-39 ms all
 * together). A sequence's keys are split (on whole key tiles) when the launch asks for it or,
 * left to choose, when the items would otherwise be too few or too uneven to keep every thread
 * busy; each split leaves its rows' running max, sum and unnormalised output, and a second loop
 * merges a KV head's splits by the LSE rule (o = Σ o_s·e^(m_s − M), l = Σ l_s·e^(m_s − M)) before the kernel
 * finishes the rows: the sink logit and the output transform join once, after the merge.
 */
public final class DecodeDriver {
    /** Items per thread the automatic split aims for: enough that uneven sequences still balance. */
    private static final int ITEMS_PER_THREAD = 4;
    /** The fewest key tiles × KV heads an automatic split gets: below that, merging costs more than it spreads. */
    private static final int MIN_TILES = 8;

    private DecodeDriver() {}

    /**
     * One item: keys [from, to) of KV heads [kvHead, kvHead + heads) of sequence {@code seq}, split
     * {@code part} of {@code parts}; the sequence's partial rows start at {@code first}.
     */
    private record Item(DecodeLaunch.Sequence seq, int kvHead, int heads, int from, int to, int part, int parts, int first) {}

    /** Runs the launch; {@code splits} > 0 cuts every sequence's keys into that many chunks (at most one a key tile), 0 chooses. */
    public static void run(DecodeKernel kernel, DecodeLaunch launch, Driver.Pool pool, int splits) {
        int bk = kernel.tileKv(), threads = pool.parallelism(), kvHeads = launch.kvHeads(), group = launch.group();
        int together = launch.k().interleavesHeads() && launch.v().interleavesHeads() ? kvHeads : 1;
        long work = 0;
        for (DecodeLaunch.Sequence s : launch.sequences()) if (s.nq() > 0) work += tiles(s, bk) * (long) kvHeads;
        long chunk = Math.max(MIN_TILES, (work + (long) ITEMS_PER_THREAD * threads - 1) / ((long) ITEMS_PER_THREAD * threads));
        List<Item> items = new ArrayList<>();
        List<Item> merges = new ArrayList<>();
        int slots = 0;
        for (DecodeLaunch.Sequence s : launch.sequences()) {
            if (s.nq() == 0) continue;
            int tiles = tiles(s, bk), firstTile = s.kvFrom() / bk, span = DecodeLaunch.rowSpan(group, s.nq());
            int parts = Math.max(1, Math.min(tiles, splits > 0 ? splits : (int) (((long) tiles * together + chunk - 1) / chunk)));
            for (int kvHead = 0; kvHead < kvHeads; kvHead += together) {
                for (int p = 0; p < parts; p++) {
                    int from = Math.max(s.kvFrom(), (firstTile + (int) ((long) p * tiles / parts)) * bk);
                    int to = Math.min(s.kvTo(), (firstTile + (int) ((long) (p + 1) * tiles / parts)) * bk);
                    items.add(new Item(s, kvHead, together, from, to, p, parts, slots));
                }
            }
            if (parts > 1) {
                for (int kvHead = 0; kvHead < kvHeads; kvHead++) merges.add(new Item(s, kvHead, 1, s.kvFrom(), s.kvTo(), 0, parts, slots));
                slots += parts * kvHeads * span;
            }
        }
        if (items.isEmpty()) return;
        // The calling thread's scratch keeps the partial rows between launches: nothing is allocated per call.
        Partials partials = merges.isEmpty() ? null : DecodeScratch.mine().partials(slots, launch.valueStride());
        Driver.parallelFor(pool, items.size(), i -> {
            Item item = items.get(i);
            DecodeScratch scratch = DecodeScratch.mine();
            int span = DecodeLaunch.rowSpan(group, item.seq().nq());
            kernel.accumulate(launch, item.seq(), scratch, item.kvHead(), item.heads(), item.from(), item.to());
            for (int slot = 0; slot < item.heads(); slot++) {
                if (item.parts() == 1) {
                    kernel.finish(launch, item.seq(), scratch, item.kvHead() + slot, slot);
                } else {
                    partials.save(item.first() + (item.part() * kvHeads + item.kvHead() + slot) * span, slot * span, group * item.seq().nq(), scratch);
                }
            }
        });
        if (merges.isEmpty()) return;
        boolean softmax = kernel.normalisation().hasRowSum();
        Driver.parallelFor(pool, merges.size(), i -> {
            Item item = merges.get(i);
            int nq = item.seq().nq(), span = DecodeLaunch.rowSpan(group, nq);
            DecodeScratch scratch = DecodeScratch.mine().ensure(1, group, nq, DecodeLaunch.queryTile(nq), bk, launch.keyStride(), launch.valueStride());
            partials.merge(item.first() + item.kvHead() * span, kvHeads * span, item.parts(), group * nq, scratch, softmax);
            kernel.finish(launch, item.seq(), scratch, item.kvHead(), 0);
        });
    }

    /** Key tiles a sequence's range touches (tiles on the kernel's grid from key 0). */
    private static int tiles(DecodeLaunch.Sequence s, int bk) {
        return s.kvTo() <= s.kvFrom() ? 0 : (s.kvTo() + bk - 1) / bk - s.kvFrom() / bk;
    }

    /**
     * Rows (max, sum, unnormalised output) of every split: a sequence's splits one after another,
     * each its KV heads' rows; grown on demand and kept by the thread that launches.
     */
    static final class Partials {
        private int vs;
        private float[] m = new float[0], l = new float[0], o = new float[0];

        /** Room for {@code rows} rows of {@code vs} values. */
        Partials ensure(int rows, int vs) {
            this.vs = vs;
            if (m.length < rows) {
                m = new float[rows];
                l = new float[rows];
            }
            if (o.length < Math.multiplyExact(rows, vs)) o = new float[rows * vs];
            return this;
        }
        /** The scratch's {@code rows} rows from {@code from} at rows {@code at}. */
        void save(int at, int from, int rows, DecodeScratch s) {
            System.arraycopy(s.m, from, m, at, rows);
            System.arraycopy(s.l, from, l, at, rows);
            System.arraycopy(s.o, from * vs, o, at * vs, rows * vs);
        }

        /** Combines {@code parts} saved splits, {@code stride} rows apart from row {@code first}, into the scratch's rows from 0. */
        void merge(int first, int stride, int parts, int rows, DecodeScratch s, boolean softmax) {
            for (int r = 0; r < rows; r++) {
                float top = Float.NEGATIVE_INFINITY;
                for (int p = 0; p < parts; p++) top = Math.max(top, m[first + p * stride + r]);
                java.util.Arrays.fill(s.o, r * vs, (r + 1) * vs, 0f);
                float sum = 0f;
                if (!softmax || top != Float.NEGATIVE_INFINITY) {
                    for (int p = 0; p < parts; p++) {
                        int at = first + p * stride + r;
                        float w = softmax ? (float) Math.exp(m[at] - top) : 1f;
                        sum += l[at] * w;
                        for (int c = 0; c < vs; c++) s.o[r * vs + c] += o[at * vs + c] * w;
                    }
                }
                s.m[r] = softmax ? top : 0f;
                s.l[r] = sum;
            }
        }
    }
}
