package attnc.ptx;

import attnc.analysis.TileClassifier;
import attnc.gpu.DeviceTensor;
import attnc.gpu.GpuFunction;
import attnc.ir.DType;
import attnc.ptx.emit.ClassifyEmitter;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;

/**
 * The tile lists one launch walks: for each slot (batch and/or head the mask depends on) and
 * query block, {@code [count, entry...]} with entry = kv tile | FULL bit. Built on the host when
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

    /** Fills {@code lists} on the device with the classifier (same arguments as the attention kernel). */
    public void classify(GpuFunction classifier, GpuFunction.Args args) {
        classifier.launch(new int[] {queryBlocks, slots(), 1}, new int[] {ClassifyEmitter.THREADS, 1, 1}, 0, args);
    }

    public DeviceTensor allocate(attnc.gpu.Device device) {
        return DeviceTensor.allocate(device, DType.INT32, listLength());
    }

    static int ceilDiv(int a, int b) { return (a + b - 1) / b; }
}
