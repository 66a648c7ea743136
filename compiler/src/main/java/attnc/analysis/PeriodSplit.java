package attnc.analysis;

import attnc.ir.BinaryOp;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Index;
import attnc.pass.FoldConstants;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A second look at PARTIAL tiles of masks that take {@code q / p} or {@code q % p} (or the same of
 * kv) for a constant p: over a tile that straddles a multiple of p, {@code q % p} spans its whole
 * period and the tile's bounds lose the row structure (2-D and 3-D neighborhoods over tiles not
 * aligned to the image width). Cutting the tile at those multiples, into at most
 * {@value #MAX_PIECES} pieces per axis, and classifying each piece recovers it: all pieces EMPTY
 * means EMPTY, all FULL means FULL. Costs nothing for masks without such periods.
 */
final class PeriodSplit {
    private static final int MAX_PIECES = 4;

    /** Periods found, ascending; the smallest that cuts a tile into few enough pieces is used. */
    private final long[] qPeriods, kvPeriods;

    PeriodSplit(Expr visibility, Map<String, Integer> sizes, Map<String, Expr> params) {
        TreeSet<Long> q = new TreeSet<>(), kv = new TreeSet<>();
        List<Expr> pending = new ArrayList<>(List.of(visibility));
        while (!pending.isEmpty()) {
            Expr e = pending.removeLast();
            pending.addAll(ExprTree.children(e));
            if (e instanceof Expr.Binary(BinaryOp op, Expr.IndexRef(Index i), Expr divisor)
                    && (op == BinaryOp.DIV || op == BinaryOp.MOD) && (i == Index.Q || i == Index.KV)
                    && constant(divisor, sizes, params) instanceof Expr.IntLit(int p) && p > 1) {
                (i == Index.Q ? q : kv).add((long) p);
            }
        }
        this.qPeriods = q.stream().mapToLong(Long::longValue).toArray();
        this.kvPeriods = kv.stream().mapToLong(Long::longValue).toArray();
    }

    boolean applies() { return qPeriods.length > 0 || kvPeriods.length > 0; }

    /** The class of a tile the whole-box evaluation left PARTIAL. */
    TileClass refine(Box box, IntervalAnalysis analysis) {
        long[] qCuts = cuts(box.qLo(), box.qHi(), qPeriods), kvCuts = cuts(box.kvLo(), box.kvHi(), kvPeriods);
        if (qCuts.length == 2 && kvCuts.length == 2) return TileClass.PARTIAL;
        boolean allEmpty = true, allFull = true;
        for (int i = 0; i + 1 < qCuts.length; i++) {
            for (int j = 0; j + 1 < kvCuts.length; j++) {
                Box piece = new Box(box.bLo(), box.bHi(), box.hLo(), box.hHi(), qCuts[i], qCuts[i + 1] - 1, kvCuts[j], kvCuts[j + 1] - 1);
                TileClass c = TileClass.of(analysis.evaluate(piece));
                allEmpty &= c == TileClass.EMPTY;
                allFull &= c == TileClass.FULL;
                if (!allEmpty && !allFull) return TileClass.PARTIAL;
            }
        }
        return allEmpty ? TileClass.EMPTY : TileClass.FULL;
    }

    /** Piece starts and the end (exclusive) of [lo, hi] cut at multiples of the smallest period giving few pieces. */
    private static long[] cuts(long lo, long hi, long[] periods) {
        for (long p : periods) {
            long first = Math.floorDiv(lo, p) + 1, last = Math.floorDiv(hi, p);
            long inner = last - first + 1;
            if (inner + 1 > MAX_PIECES) continue;
            long[] cuts = new long[(int) inner + 2];
            cuts[0] = lo;
            for (int k = 0; k < inner; k++) cuts[k + 1] = (first + k) * p;
            cuts[cuts.length - 1] = hi + 1;
            return cuts;
        }
        return new long[] {lo, hi + 1};
    }

    /** The divisor with the launch's sizes and params substituted, folded. */
    private static Expr constant(Expr e, Map<String, Integer> sizes, Map<String, Expr> params) {
        Expr substituted = ExprTree.rewrite(e, x -> switch (x) {
            case Expr.SizeRef(String n) when sizes.containsKey(n) -> new Expr.IntLit(sizes.get(n));
            case Expr.ParamRef p when params.containsKey(p.name()) -> params.get(p.name());
            default -> x;
        });
        return FoldConstants.fold(substituted, Map.of());
    }
}
