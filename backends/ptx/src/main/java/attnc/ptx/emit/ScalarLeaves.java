package attnc.ptx.emit;

import attnc.ir.Index;

/**
 * Leaves for the small kernels that evaluate one site a thread (the tile classifier, the
 * backward's kernels over rows): b, h and the absolute query position in fixed registers, kv in
 * {@code kv} where the kernel has one, d per column ({@code %d_c<col>}) and o per column
 * ({@code %o_c<col>}) where it walks the output; an index the kernel does not have is refused.
 */
final class ScalarLeaves implements Leaves {
    private final int headDim, valueDim;
    private final String kv;
    private final boolean walksOutput;

    ScalarLeaves(int headDim, int valueDim, String kv, boolean walksOutput) {
        this.headDim = headDim;
        this.valueDim = valueDim;
        this.kv = kv;
        this.walksOutput = walksOutput;
    }

    @Override
    public String index(Index index, int row, int col) {
        return switch (index) {
            case B -> "%b";
            case H -> "%h";
            case Q -> "%q_abs";
            case KV -> {
                if (kv == null) throw new IllegalStateException("kv in a per-row program");
                yield kv;
            }
            case D -> {
                if (!walksOutput) throw new IllegalStateException("d outside the output");
                yield "%d_c" + col;
            }
        };
    }

    @Override public String size(String name) { return Signature.sizeRegister(name, headDim, valueDim); }

    @Override
    public String output(int row, int col) {
        if (!walksOutput) throw new IllegalStateException("o outside the output");
        return "%o_c" + col;
    }
}
