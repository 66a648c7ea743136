package attnc.ptx;

import attnc.analysis.ClassifyTiles;
import attnc.analysis.TileClassifier;
import attnc.ir.Index;
import attnc.launch.RaggedBinding;
import attnc.lower.LoweredPattern;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What one launch of the ragged prefill kernel walks, built on the host: each sequence's tile
 * lists from the block-sparsity analysis under its own binding (its Nq, Nkv and Q0, its inputs),
 * one list per query block (and per head where the mask reads h), packed one after another as
 * {@code [count, entry...]} with entry = kv tile | FULL bit (and each consumer warpgroup's own bits
 * where the kernel reads them, {@link KernelConfig#listGroups}); and the work list, one entry
 * {@code (b, h, query block, list offset)} per block of the grid, the longest lists first so that
 * the long sequences' heavy blocks start before the short ones fill the gaps.
 *
 * <p>A sequence without queries has no entries; one without keys has empty lists (its rows are
 * those of a launch with no keys). A tile is FULL only when the analysis proved every element
 * visible and the tile ends inside the sequence's keys, so the kernel bounds the last one.
 *
 * @param work  {@link #ENTRY_INTS} ints an entry: b, h, query block, offset of its list in {@code tiles}
 * @param tiles the lists, concatenated
 */
record RaggedPlan(int[] work, int[] tiles) {
    /** Ints of one work entry, the kernel's one 16-byte load. */
    static final int ENTRY_INTS = 4;

    int entries() { return work.length / ENTRY_INTS; }

    /** The plan of {@code ragged} for {@code config}'s tiles. */
    static RaggedPlan of(LoweredPattern lowered, RaggedBinding ragged, KernelConfig config) {
        return of(lowered, ragged, config.blockM(), config.blockN(), config.listGroups());
    }

    /** For tiles of {@code blockM} queries × {@code blockN} keys, with the bits of {@code groups} warpgroups (0: none). */
    static RaggedPlan of(LoweredPattern lowered, RaggedBinding ragged, int blockM, int blockN, int groups) {
        List<int[]> entries = new ArrayList<>();
        IntList tiles = new IntList();
        boolean perHead = lowered.visibilityDependsOn(Index.H);
        for (RaggedBinding.Sequence s : ragged.sequences()) {
            int nq = s.queries(), nkv = s.keys(), queryBlocks = ceilDiv(nq, blockM), kvTiles = ceilDiv(nkv, blockN);
            if (nq == 0) continue;
            TileClassifier classifier = nkv == 0 || lowered.alwaysVisible() ? null
                    : ClassifyTiles.classifier(lowered.pattern(), s.binding(), s.inputs(), blockM, blockN);
            if (classifier != null && (classifier.grid().qTiles() != queryBlocks || classifier.grid().kvTiles() != kvTiles)) {
                throw new IllegalStateException("the analysis' tile grid " + classifier.grid() + " is not sequence " + s.index() + "'s");
            }
            TileClassifier groupTiles = classifier == null || groups == 0 ? null
                    : ClassifyTiles.classifier(lowered.pattern(), s.binding(), s.inputs(), blockM / groups, blockN);
            byte[] scratch = new byte[kvTiles];
            int slots = perHead ? ragged.heads() : 1;
            int[][] offsets = new int[slots][queryBlocks];
            for (int slot = 0; slot < slots; slot++) {
                for (int qb = 0; qb < queryBlocks; qb++) {
                    offsets[slot][qb] = tiles.size();
                    list(classifier, s.index(), slot, qb, nkv, kvTiles, blockN, tiles);
                    if (groupTiles != null) {
                        int at = offsets[slot][qb];
                        TilePlan.addGroupBits(groupTiles, s.index(), slot, qb, groups, nkv, blockN, tiles.values, at + 1, tiles.values[at], scratch);
                    }
                }
            }
            for (int h = 0; h < ragged.heads(); h++) {
                for (int qb = 0; qb < queryBlocks; qb++) entries.add(new int[] {s.index(), h, qb, offsets[perHead ? h : 0][qb]});
            }
        }
        int[] lists = tiles.toArray();
        // Stable: equal lists keep sequence, head, query block order.
        entries.sort(Comparator.comparingInt((int[] e) -> lists[e[3]]).reversed());
        int[] work = new int[entries.size() * ENTRY_INTS];
        for (int i = 0; i < entries.size(); i++) System.arraycopy(entries.get(i), 0, work, i * ENTRY_INTS, ENTRY_INTS);
        return new RaggedPlan(work, lists);
    }

    /** Appends one list: every tile (FULL but a last one past Nkv) without a classifier, else the analysis' runs. */
    private static void list(TileClassifier classifier, int b, int h, int qb, int nkv, int kvTiles, int blockN, IntList tiles) {
        int countAt = tiles.size();
        tiles.add(0);
        int count = 0;
        if (classifier == null) {
            for (int t = 0; t < kvTiles; t++, count++) tiles.add(t | ((t + 1) * blockN <= nkv ? PtxModule.FULL_BIT : 0));
        } else {
            TileClassifier.TileRow row = classifier.row(b, h, qb);
            for (int r = 0; r < row.runs(); r++) {
                for (int t = row.first()[r]; t <= row.last()[r]; t++, count++) {
                    tiles.add(t | (row.full()[r] && (t + 1) * blockN <= nkv ? PtxModule.FULL_BIT : 0));
                }
            }
        }
        tiles.set(countAt, count);
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    /** A growable int array: the lists' length is known only once the analysis has run. */
    private static final class IntList {
        int[] values = new int[64];
        private int size;

        void add(int v) {
            if (size == values.length) values = java.util.Arrays.copyOf(values, size * 2);
            values[size++] = v;
        }

        void set(int i, int v) { values[i] = v; }
        int size() { return size; }
        int[] toArray() { return java.util.Arrays.copyOf(values, size); }
    }
}
