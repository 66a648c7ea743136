package attnc.jvm.sparsity;

import attnc.ir.Type;
import attnc.jvm.emit.Slots;
import attnc.jvm.kernel.Env;
import attnc.jvm.kernel.TileClassifier;
import attnc.lower.Instr;
import attnc.lower.Opcode;
import attnc.lower.Program;
import attnc.ir.Semantics;
import java.util.List;

/**
 * Classifies tiles by evaluating the mask's lowered program over intervals: q and kv range over
 * the tile, b, h, sizes and params are points, and every int register gets a sound [lo, hi]
 * (computed in long; a result outside the int range, where the kernel would wrap, becomes
 * unknown). Bools are [0,0], [1,1] or [0,1]. Whatever it cannot bound (input loads, floats,
 * bit operations other than the simple cases) is unknown, which only costs a per-element mask
 * evaluation, never a wrong answer.
 *
 * <p>This is the JVM backend's stand-in for the compiler's own block-sparsity analysis
 * ({@code attnc.analysis}); the kernel only sees the {@link TileClassifier} interface, so the
 * analysis replaces this class without touching the kernel.
 */
public final class IntervalClassifier {
    private static final long MIN = Integer.MIN_VALUE, MAX = Integer.MAX_VALUE;
    private final Program mask;
    private final Slots slots;
    private final boolean[] needed;

    public IntervalClassifier(Program mask, Slots slots) {
        this.mask = mask;
        this.slots = slots;
        needed = new boolean[mask.instrs().size()];
        needed[mask.result()] = true;
        for (int i = needed.length - 1; i >= 0; i--) {
            if (needed[i]) for (int r : mask.instrs().get(i).reads()) needed[r] = true;
        }
    }

    /** A classifier for one launch (sizes and params fixed). Safe to share between threads. */
    public TileClassifier bind(Env env) {
        return (b, h, q0, q1, kv0, kv1) -> classify(env, b, h, q0, q1, kv0, kv1);
    }

    int classify(Env env, int b, int h, int q0, int q1, int kv0, int kv1) {
        List<Instr> instrs = mask.instrs();
        long[] lo = new long[instrs.size()], hi = new long[instrs.size()];
        for (int i = 0; i < instrs.size(); i++) {
            if (!needed[i]) continue;
            Instr instr = instrs.get(i);
            long l = MIN, u = MAX;
            switch (instr) {
                case Instr.IntConst(int v) -> { l = v; u = v; }
                case Instr.BoolConst(boolean v) -> { l = v ? 1 : 0; u = l; }
                case Instr.IndexValue(var index) -> {
                    switch (index) {
                        case B -> { l = b; u = b; }
                        case H -> { l = h; u = h; }
                        case Q -> { l = q0; u = q1; }
                        case KV -> { l = kv0; u = kv1; }
                        case D -> { }
                    }
                }
                case Instr.SizeValue(String name) -> { l = env.sizes[slots.size(name)]; u = l; }
                case Instr.ParamValue(String name, Type type) when type != Type.FLOAT -> { l = env.intParams[slots.param(name)]; u = l; }
                case Instr.Op op when op.type() != Type.FLOAT && op.operandType() != Type.FLOAT -> {
                    long[] r = op(op, lo, hi);
                    l = r[0];
                    u = r[1];
                }
                default -> { }
            }
            if (instr.type() == Type.BOOL && (l < 0 || u > 1)) { l = 0; u = 1; }
            if (l < MIN || u > MAX) { l = MIN; u = MAX; }
            lo[i] = l;
            hi[i] = u;
        }
        int r = mask.result();
        return hi[r] == 0 ? TileClassifier.EMPTY : lo[r] == 1 ? TileClassifier.FULL : TileClassifier.UNKNOWN;
    }

    /** [lo, hi] of one int or bool operation; unknown is [MIN, MAX] (a bool then becomes [0, 1]). */
    private static long[] op(Instr.Op op, long[] lo, long[] hi) {
        List<Integer> a = op.args();
        long al = lo[a.get(0)], ah = hi[a.get(0)];
        long bl = a.size() > 1 ? lo[a.get(1)] : 0, bh = a.size() > 1 ? hi[a.get(1)] : 0;
        Opcode code = op.op();
        return switch (code) {
            case ADD -> new long[] {al + bl, ah + bh};
            case SUB -> new long[] {al - bh, ah - bl};
            case MUL -> corners(al * bl, al * bh, ah * bl, ah * bh);
            case NEG -> new long[] {-ah, -al};
            case MIN -> new long[] {Math.min(al, bl), Math.min(ah, bh)};
            case MAX -> new long[] {Math.max(al, bl), Math.max(ah, bh)};
            case ABS -> al >= 0 ? new long[] {al, ah} : ah <= 0 ? new long[] {-ah, -al} : new long[] {0, Math.max(-al, ah)};
            case DIV -> bl == bh && bl > 0 ? new long[] {Math.floorDiv(al, bl), Math.floorDiv(ah, bl)} : unknown();
            case MOD -> bl == bh && bl > 0
                    ? Math.floorDiv(al, bl) == Math.floorDiv(ah, bl) ? new long[] {Math.floorMod(al, bl), Math.floorMod(ah, bl)} : new long[] {0, bl - 1}
                    : unknown();
            case SHR -> bl == bh && bl >= 0 && bl < 32 ? new long[] {al >> bl, ah >> bl} : unknown();
            case BIT_AND -> al >= 0 && bl >= 0 ? new long[] {0, Math.min(ah, bh)} : unknown();
            case BITLEN -> al >= 0 ? new long[] {Semantics.bitlen((int) al), Semantics.bitlen((int) ah)} : unknown();
            case LT -> bool(ah < bl, al >= bh);
            case LE -> bool(ah <= bl, al > bh);
            case GT -> bool(al > bh, ah <= bl);
            case GE -> bool(al >= bh, ah < bl);
            case EQ -> bool(al == ah && bl == bh && al == bl, ah < bl || bh < al);
            case NE -> bool(ah < bl || bh < al, al == ah && bl == bh && al == bl);
            case AND -> new long[] {al & bl, ah & bh};
            case OR -> new long[] {al | bl, ah | bh};
            case NOT -> new long[] {1 - ah, 1 - al};
            case SELECT -> {
                long tl = lo[a.get(1)], th = hi[a.get(1)], fl = lo[a.get(2)], fh = hi[a.get(2)];
                yield al == 1 ? new long[] {tl, th} : ah == 0 ? new long[] {fl, fh} : new long[] {Math.min(tl, fl), Math.max(th, fh)};
            }
            default -> unknown();
        };
    }

    private static long[] corners(long... c) {
        long l = Long.MAX_VALUE, u = Long.MIN_VALUE;
        for (long x : c) { l = Math.min(l, x); u = Math.max(u, x); }
        return new long[] {l, u};
    }

    private static long[] bool(boolean alwaysTrue, boolean alwaysFalse) {
        return alwaysTrue ? new long[] {1, 1} : alwaysFalse ? new long[] {0, 0} : new long[] {0, 1};
    }

    private static long[] unknown() { return new long[] {MIN, MAX}; }
}
