package attnc.jvm.kernel;

import java.util.ArrayList;
import java.util.List;

/**
 * Schedules a decode launch: one work item per (sequence, KV head, split of its keys), handed out
 * dynamically on the {@link Driver.Pool}. A sequence's keys are split (on whole key tiles) when
 * the launch asks for it or, left to choose, when the items would otherwise be too few or too
 * uneven to keep every thread busy; each split leaves its rows' running max, sum and
 * unnormalised output, and a second loop merges a group's splits by the LSE rule
 * (o = Σ o_s·e^(m_s − M), l = Σ l_s·e^(m_s − M)) before the kernel finishes the rows: the sink
 * logit and the output transform join once, after the merge.
 */
public final class DecodeDriver {
    /** Items per thread the automatic split aims for: enough that uneven sequences still balance. */
    private static final int ITEMS_PER_THREAD = 4;
    /** The fewest key tiles an automatic split gets: below that, merging costs more than it spreads. */
    private static final int MIN_TILES = 8;

    private DecodeDriver() {}

    /** One item: keys [from, to) of KV head {@code kvHead} of sequence {@code seq}, split {@code part} of {@code parts}. */
    private record Item(DecodeLaunch.Sequence seq, int kvHead, int from, int to, int part, int parts, int first) {}

    /** Runs the launch; {@code splits} > 0 cuts every sequence's keys into that many chunks (at most one a key tile), 0 chooses. */
    public static void run(DecodeKernel kernel, DecodeLaunch launch, Driver.Pool pool, int splits) {
        int bk = kernel.tileKv(), threads = pool.parallelism();
        long totalTiles = 0;
        for (DecodeLaunch.Sequence s : launch.sequences()) if (s.nq() > 0) totalTiles += tiles(s, bk) * (long) launch.kvHeads();
        long chunk = Math.max(MIN_TILES, (totalTiles + (long) ITEMS_PER_THREAD * threads - 1) / ((long) ITEMS_PER_THREAD * threads));
        List<Item> items = new ArrayList<>();
        List<Item> merges = new ArrayList<>();
        int slots = 0;
        for (DecodeLaunch.Sequence s : launch.sequences()) {
            if (s.nq() == 0) continue;
            int tiles = tiles(s, bk), firstTile = s.kvFrom() / bk;
            int parts = Math.max(1, Math.min(tiles, splits > 0 ? splits : (int) ((tiles + chunk - 1) / chunk)));
            for (int kvHead = 0; kvHead < launch.kvHeads(); kvHead++) {
                for (int p = 0; p < parts; p++) {
                    int from = Math.max(s.kvFrom(), (firstTile + (int) ((long) p * tiles / parts)) * bk);
                    int to = Math.min(s.kvTo(), (firstTile + (int) ((long) (p + 1) * tiles / parts)) * bk);
                    items.add(new Item(s, kvHead, from, to, p, parts, slots));
                }
                if (parts > 1) merges.add(new Item(s, kvHead, s.kvFrom(), s.kvTo(), 0, parts, slots));
                if (parts > 1) slots += parts * launch.group() * s.nq();
            }
        }
        if (items.isEmpty()) return;
        Partials partials = merges.isEmpty() ? null : new Partials(slots, launch.valueStride());
        Driver.parallelFor(pool, items.size(), i -> {
            Item item = items.get(i);
            DecodeScratch scratch = DecodeScratch.mine();
            kernel.accumulate(launch, item.seq(), scratch, item.kvHead(), item.from(), item.to());
            if (item.parts() == 1) {
                kernel.finish(launch, item.seq(), scratch, item.kvHead());
            } else {
                partials.save(item.first() + item.part() * launch.group() * item.seq().nq(), launch.group(), item.seq().nq(), scratch);
            }
        });
        if (merges.isEmpty()) return;
        boolean softmax = kernel.normalisation().hasRowSum();
        Driver.parallelFor(pool, merges.size(), i -> {
            Item item = merges.get(i);
            int nq = item.seq().nq(), group = launch.group();
            DecodeScratch scratch = DecodeScratch.mine().ensure(group, nq, DecodeLaunch.queryTile(nq), bk, launch.keyStride(), launch.valueStride());
            partials.merge(item.first(), item.parts(), group, nq, scratch, softmax);
            kernel.finish(launch, item.seq(), scratch, item.kvHead());
        });
    }

    /** Key tiles a sequence's range touches (tiles on the kernel's grid from key 0). */
    private static int tiles(DecodeLaunch.Sequence s, int bk) {
        return s.kvTo() <= s.kvFrom() ? 0 : (s.kvTo() + bk - 1) / bk - s.kvFrom() / bk;
    }

    /** Rows (max, sum, unnormalised output) of every split, a group's splits one after another. */
    private static final class Partials {
        private final int vs;
        private final float[] m, l, o;

        Partials(int rows, int vs) {
            this.vs = vs;
            m = new float[rows];
            l = new float[rows];
            o = new float[Math.multiplyExact(rows, vs)];
        }

        /** The scratch's rows of a group (lane g·bq + i) at rows {@code at + g·nq + i}. */
        void save(int at, int group, int nq, DecodeScratch s) {
            int bq = DecodeLaunch.queryTile(nq);
            for (int g = 0; g < group; g++) {
                for (int i = 0; i < nq; i++) {
                    int r = g * nq + i;
                    m[at + r] = s.m[g * bq + i];
                    l[at + r] = s.l[g * bq + i];
                }
            }
            System.arraycopy(s.o, 0, o, at * vs, group * nq * vs);
        }

        /** Combines {@code parts} saved splits from row {@code first} into the scratch's rows. */
        void merge(int first, int parts, int group, int nq, DecodeScratch s, boolean softmax) {
            int bq = DecodeLaunch.queryTile(nq), rows = group * nq;
            for (int g = 0; g < group; g++) {
                for (int i = 0; i < nq; i++) {
                    int r = g * nq + i, state = g * bq + i;
                    float top = Float.NEGATIVE_INFINITY;
                    for (int p = 0; p < parts; p++) top = Math.max(top, m[first + p * rows + r]);
                    java.util.Arrays.fill(s.o, r * vs, (r + 1) * vs, 0f);
                    float sum = 0f;
                    if (!softmax || top != Float.NEGATIVE_INFINITY) {
                        for (int p = 0; p < parts; p++) {
                            int at = first + p * rows + r;
                            float w = softmax ? (float) Math.exp(m[at] - top) : 1f;
                            sum += l[at] * w;
                            for (int c = 0; c < vs; c++) s.o[r * vs + c] += o[at * vs + c] * w;
                        }
                    }
                    s.m[state] = softmax ? top : 0f;
                    s.l[state] = sum;
                }
            }
        }
    }
}
