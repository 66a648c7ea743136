package attnc.ptx.emit;

import attnc.ir.Index;
import attnc.ir.Pattern;
import attnc.lower.LoweredPattern;

/**
 * One pattern's PTX module for one {@link KernelConfig}: the attention entry, unless every
 * (q, kv) is visible by construction the tile classifier, and for split-KV decoding the merge.
 * The text depends only on the pattern and the config, so it is the same on every run and can be
 * diffed, cached by hash and exported.
 */
public record PtxModule(String text, KernelConfig config, boolean classifies, boolean maskPerBatch, boolean maskPerHead) {

    public static final String ATTENTION_ENTRY = MmaSyncEmitter.ENTRY;
    public static final String CLASSIFY_ENTRY = ClassifyEmitter.ENTRY;
    /** The split-KV merge of a decode module: one warp a row, {@link #MERGE_ROWS_PER_BLOCK} rows a block. */
    public static final String MERGE_ENTRY = MergeEmitter.ENTRY;
    public static final int MERGE_ROWS_PER_BLOCK = MergeEmitter.ROWS_PER_BLOCK;
    public static final int MERGE_THREADS = MergeEmitter.THREADS;
    /** Bit set in a tile-list entry when the tile is FULL (every element visible). */
    public static final int FULL_BIT = 1 << 30;
    /**
     * The bits of a wgmma forward entry that hold the kv tile index; above them, per consumer
     * warpgroup w (64 query rows of the block), {@link #groupHidden} when no element of the tile is
     * visible to its rows and {@link #groupFull} when every one is. Zero says nothing: the warpgroup
     * then takes the tile as the block does. Other kernels' lists hold the index below {@link #FULL_BIT}.
     */
    public static final int TILE_BITS = 24, TILE_MASK = (1 << TILE_BITS) - 1;
    /** The most consumer warpgroups an entry has bits for. */
    public static final int MAX_GROUPS = 3;

    /** Bit set in an entry when no element of the tile is visible to warpgroup {@code group}'s rows. */
    public static int groupHidden(int group) { return 1 << (TILE_BITS + group); }

    /** Bit set in an entry when every element of the tile is visible to warpgroup {@code group}'s rows (and the tile lies inside Nkv). */
    public static int groupFull(int group) { return 1 << (TILE_BITS + MAX_GROUPS + group); }

    /** The merge entry's parameters (a decode module's). */
    public static Signature mergeSignature(LoweredPattern lowered) { return MergeEmitter.signature(lowered); }

    public static PtxModule render(LoweredPattern lowered, KernelConfig config) {
        Pattern pattern = lowered.pattern();
        boolean alwaysVisible = lowered.alwaysVisible();
        StringBuilder text = new StringBuilder();
        text.append("//\n// attnc ").append(pattern.name()).append(": fused attention forward, ").append(config.tag()).append("\n");
        for (String line : pattern.doc().lines().toList()) text.append("// ").append(PtxWriter.ascii(line)).append("\n");
        // wgmma and setmaxnreg exist only for sm_90a; the swizzled buffers want a 1024-byte aligned base.
        boolean wgmma = config.schedule().wgmma();
        text.append("//\n.version 8.0\n.target sm_").append(config.sm()).append(wgmma ? "a" : "").append("\n.address_size 64\n\n");
        text.append("// dynamic shared memory: ").append(config.sharedBytes()).append(" bytes per block\n");
        text.append(".extern .shared .align ").append(wgmma ? 1024 : config.swizzledKv() ? 128 : 16).append(" .b8 attnc_smem[];\n\n");
        // The merge function comes first: the split-KV decode entry's last blocks call it too.
        if (config.decode().splits()) text.append(MergeEmitter.renderFunction(lowered, config)).append("\n");
        text.append(wgmma ? WgmmaEmitter.render(lowered, config)
                : config.schedule().columns() ? ColumnSplitEmitter.render(lowered, config) : MmaSyncEmitter.render(lowered, config));
        // attnc builds a ragged batch's lists on the host (RaggedPlan); its module keeps the classifier for callers
        // without the analysis (the export), who launch it once per sequence with that sequence's sizes.
        boolean classifies = !alwaysVisible;
        if (classifies) text.append("\n").append(ClassifyEmitter.render(lowered, config));
        if (config.decode().splits()) text.append("\n").append(MergeEmitter.renderEntry(lowered));
        return new PtxModule(text.toString(), config, classifies, lowered.visibilityDependsOn(Index.B), lowered.visibilityDependsOn(Index.H));
    }
}
