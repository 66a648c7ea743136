package attnc.ptx;

import attnc.analysis.ClassifyTiles;
import attnc.analysis.TileClassifier;
import attnc.gpu.DeviceTensor;
import attnc.gpu.GpuFunction;
import attnc.ir.DType;
import attnc.launch.Binding;
import attnc.lower.LoweredPattern;
import attnc.ptx.emit.ClassifyEmitter;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.tensor.Tensor;
import java.util.Arrays;
import java.util.Map;

/**
 * The tile lists one launch walks: for each slot (batch and/or head the mask depends on) and
 * query block, {@code [count, entry...]} with entry = kv tile | FULL bit (and, for the
 * overlapped wgmma kernels, each warpgroup's own class: {@link KernelConfig#listGroups}). Built on the host when
 * every (q, kv) is visible by construction (all tiles FULL but a ragged last one), or by the
 * block-sparsity analysis ({@link #analysed}: microseconds, no per-element work) when the mask
 * reads only indices and params, or reads inputs whose host copies are at hand; else (inputs
 * resident on the device only) by the classifier kernel, one mask evaluation per element.
 */
public record TilePlan(int queryBlocks, int kvTiles, int slotsB, int slotsH) {

    public static TilePlan of(PtxModule module, int batch, int heads, int nq, int nkv) {
        KernelConfig c = module.config();
        // A paged launch's sequences have keys of their own, so lists of their own.
        return new TilePlan(ceilDiv(nq, c.blockM()), ceilDiv(nkv, c.blockN()),
                module.maskPerBatch() || c.decode().pages() ? batch : 1, module.maskPerHead() ? heads : 1);
    }

    public int slots() { return slotsB * slotsH; }
    public int slotStrideB() { return slotsB > 1 ? slotsH : 0; }
    public int slotStrideH() { return slotsH > 1 ? 1 : 0; }
    public int listLength() { return slots() * queryBlocks * (kvTiles + 1); }

    /** Lists where every tile is visible: FULL, except a last tile that runs past Nkv. */
    public int[] allVisible(int nkv, int blockN) {
        int[] lists = new int[listLength()];
        for (int qb = 0; qb < slots() * queryBlocks; qb++) {
            int base = qb * (kvTiles + 1);
            lists[base] = kvTiles;
            for (int t = 0; t < kvTiles; t++) {
                boolean whole = (t + 1) * blockN <= nkv;
                lists[base + 1 + t] = t | (whole ? PtxModule.FULL_BIT : 0);
            }
        }
        return lists;
    }

    /**
     * Lists from the block-sparsity analysis ({@code tiles} built with tile sizes blockM × blockN):
     * its runs of non-EMPTY tiles, FULL where it proved every element visible, except a last tile
     * that runs past Nkv, which the kernel must bound per element. The analysis is sound, so no
     * visible element is skipped and no tile with a hidden element is FULL.
     */
    public int[] analysed(TileClassifier tiles, int nkv, int blockN) {
        if (tiles.grid().qTiles() != queryBlocks || tiles.grid().kvTiles() != kvTiles || tiles.grid().tileKv() != blockN) {
            throw new IllegalArgumentException("the analysis' tile grid " + tiles.grid() + " is not this plan's");
        }
        int[] lists = new int[listLength()];
        for (int slot = 0; slot < slots(); slot++) {
            TileClassifier.BlockList runs = tiles.blockList(slot / slotsH, slot % slotsH);
            for (int qb = 0; qb < queryBlocks; qb++) {
                int base = (slot * queryBlocks + qb) * (kvTiles + 1), count = 0;
                for (int r = runs.rowStart()[qb]; r < runs.rowStart()[qb + 1]; r++) {
                    for (int t = runs.first()[r]; t <= runs.last()[r]; t++) {
                        boolean full = runs.full()[r] == 1 && (t + 1) * blockN <= nkv;
                        lists[base + 1 + count++] = t | (full ? PtxModule.FULL_BIT : 0);
                    }
                }
                lists[base] = count;
            }
        }
        return lists;
    }

    /**
     * The host's lists of a launch of {@code config}'s kernel (masks that read inputs from their
     * host copies), with the warpgroups' own classes where the kernel reads them ({@link
     * KernelConfig#listGroups}).
     */
    public int[] analysed(LoweredPattern pattern, KernelConfig config, Binding binding, Map<String, Tensor> hostInputs) {
        int nkv = binding.size("Nkv"), groups = config.listGroups();
        TileClassifier tiles = classifier(pattern, binding, hostInputs, config.blockM(), config.blockN());
        return groups == 0 ? analysed(tiles, nkv, config.blockN())
                : analysed(tiles, classifier(pattern, binding, hostInputs, config.blockM() / groups, config.blockN()), groups, nkv, config.blockN());
    }

    private static TileClassifier classifier(LoweredPattern pattern, Binding binding, Map<String, Tensor> hostInputs, int tileQ, int tileKv) {
        return pattern.readsInputs() ? ClassifyTiles.classifier(pattern.pattern(), binding, hostInputs, tileQ, tileKv)
                : ClassifyTiles.classifier(pattern.pattern(), binding, tileQ, tileKv);
    }

    /**
     * {@link #analysed} lists whose entries also carry, per consumer warpgroup, whether the tile is
     * hidden from or fully visible to its 64 rows ({@link PtxModule#groupHidden}, {@link
     * PtxModule#groupFull}), from {@code groupTiles}, the analysis with 64-row query tiles: warpgroup
     * w of query block qb owns its tile qb · groups + w. A warpgroup whose rows all lie past Nq sees
     * nothing. Sound as the analysis is: a hidden bit only where no element is visible.
     */
    public int[] analysed(TileClassifier tiles, TileClassifier groupTiles, int groups, int nkv, int blockN) {
        if (groupTiles.grid().tileQ() * groups != tiles.grid().tileQ() || groupTiles.grid().tileKv() != blockN || groups > PtxModule.MAX_GROUPS) {
            throw new IllegalArgumentException("the warpgroups' tile grid " + groupTiles.grid() + " does not split " + tiles.grid() + " in " + groups);
        }
        if (kvTiles > PtxModule.TILE_MASK) throw new IllegalArgumentException(kvTiles + " kv tiles do not fit a list entry's " + PtxModule.TILE_BITS + " bits");
        int[] lists = analysed(tiles, nkv, blockN);
        byte[] classes = new byte[kvTiles];
        for (int slot = 0; slot < slots(); slot++) {
            for (int qb = 0; qb < queryBlocks; qb++) {
                int base = (slot * queryBlocks + qb) * (kvTiles + 1);
                addGroupBits(groupTiles, slot / slotsH, slot % slotsH, qb, groups, nkv, blockN, lists, base + 1, lists[base], classes);
            }
        }
        return lists;
    }

    private static final byte EMPTY = 0, PARTIAL = 1, FULL = 2;

    /**
     * ORs each warpgroup's bits into the {@code count} entries of query block {@code qb} from
     * {@code entries[from]}: warpgroup w's rows are tile qb · groups + w of {@code groupTiles}
     * (EMPTY past Nq). {@code classes} is scratch of at least the kv tiles' length.
     */
    static void addGroupBits(TileClassifier groupTiles, int b, int h, int qb, int groups, int nkv, int blockN, int[] entries, int from, int count,
            byte[] classes) {
        for (int w = 0; w < groups; w++) {
            Arrays.fill(classes, EMPTY);
            int groupTile = qb * groups + w;
            if (groupTile < groupTiles.grid().qTiles()) {
                TileClassifier.TileRow row = groupTiles.row(b, h, groupTile);
                for (int r = 0; r < row.runs(); r++) Arrays.fill(classes, row.first()[r], row.last()[r] + 1, row.full()[r] ? FULL : PARTIAL);
            }
            for (int i = from; i < from + count; i++) {
                int tile = entries[i] & PtxModule.TILE_MASK;
                if (classes[tile] == EMPTY) entries[i] |= PtxModule.groupHidden(w);
                else if (classes[tile] == FULL && (tile + 1) * blockN <= nkv) entries[i] |= PtxModule.groupFull(w);
            }
        }
    }

    /** Fills {@code lists} on the device with the classifier (same arguments as the attention kernel). */
    public void classify(GpuFunction classifier, GpuFunction.Args args) {
        classifier.launch(new int[] {queryBlocks, slots(), 1}, new int[] {ClassifyEmitter.THREADS, 1, 1}, 0, args);
    }

    public DeviceTensor allocate(attnc.gpu.Device device) {
        return DeviceTensor.allocate(device, DType.INT32, listLength());
    }

    static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
