package attnc.lower;

import attnc.ir.Index;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A lowered expression: straight-line instructions in SSA form (instruction i writes register i
 * and reads only lower registers) and the register holding the result. Everything a renderer
 * needs to place an instruction is decided here, once: which index variables each register
 * depends on, its {@link Level} (where in a tile's loops it is computed), whether the result
 * needs it at all ({@link #live}) and which input tensors the live instructions read.
 */
public final class Program {

    /**
     * Where a register changes within one (b, h) tile: nowhere (once per tile), along the rows
     * (q), along the columns (kv, or the output channel d), or per element. b and h are fixed
     * for a tile, so they never raise the level.
     */
    public enum Level {
        UNIFORM, ROW, COL, ELEMENT;

        static Level of(Set<Index> dependences) {
            boolean row = dependences.contains(Index.Q);
            boolean col = dependences.contains(Index.KV) || dependences.contains(Index.D);
            return row ? col ? ELEMENT : ROW : col ? COL : UNIFORM;
        }

        public boolean variesAlongRows() { return this == ROW || this == ELEMENT; }

        public boolean variesAlongColumns() { return this == COL || this == ELEMENT; }
    }

    private final List<Instr> instrs;
    private final int result;
    private final List<Set<Index>> dependences;
    private final List<Level> levels;
    private final boolean[] live;
    private final Set<String> inputs;

    public Program(List<Instr> instrs, int result) {
        this.instrs = List.copyOf(instrs);
        this.result = result;
        if (result < 0 || result >= this.instrs.size()) throw new IllegalArgumentException("result register " + result + " of " + this.instrs.size());
        List<Set<Index>> deps = new ArrayList<>();
        List<Level> lv = new ArrayList<>();
        for (int i = 0; i < this.instrs.size(); i++) {
            Instr instr = this.instrs.get(i);
            Set<Index> d = EnumSet.noneOf(Index.class);
            for (int read : instr.reads()) {
                if (read >= i) throw new IllegalArgumentException("register " + i + " reads a later one, " + read);
                d.addAll(deps.get(read));
            }
            switch (instr) {
                case Instr.IndexValue(Index index) -> d.add(index);
                // s is one score per (q, kv); o one output element per (q, d).
                case Instr.Score() -> d.addAll(EnumSet.of(Index.Q, Index.KV));
                case Instr.Output() -> d.addAll(EnumSet.of(Index.Q, Index.D));
                default -> { }
            }
            deps.add(d.isEmpty() ? Set.of() : Set.copyOf(d));
            lv.add(Level.of(d));
        }
        this.dependences = List.copyOf(deps);
        this.levels = List.copyOf(lv);
        this.live = new boolean[this.instrs.size()];
        live[result] = true;
        Set<String> read = new LinkedHashSet<>();
        for (int i = live.length - 1; i >= 0; i--) {
            if (!live[i]) continue;
            Instr instr = this.instrs.get(i);
            for (int r : instr.reads()) live[r] = true;
            switch (instr) {
                case Instr.Load load -> read.add(load.input());
                case Instr.Member member -> read.add(member.input());
                default -> { }
            }
        }
        this.inputs = Set.copyOf(read);
    }

    public List<Instr> instrs() { return instrs; }

    public int result() { return result; }

    public Instr resultInstr() { return instrs.get(result); }

    /** The index variables register {@code register} depends on (s counts as q and kv, o as q and d). */
    public Set<Index> dependsOn(int register) { return dependences.get(register); }

    public Level level(int register) { return levels.get(register); }

    public Level resultLevel() { return level(result); }

    /** Whether the result needs the register (lowering shares constants that may end up unused). */
    public boolean live(int register) { return live[register]; }

    /** Input tensors the live instructions read. */
    public Set<String> inputs() { return inputs; }

    /** Whether the live instructions of exactly {@code level} read memory (input loads or membership scans). */
    public boolean loadsAt(Level level) {
        for (int i = 0; i < instrs.size(); i++) {
            if (live[i] && levels.get(i) == level && (instrs.get(i) instanceof Instr.Load || instrs.get(i) instanceof Instr.Member)) return true;
        }
        return false;
    }

    /** The result is the boolean constant {@code value}. */
    public boolean isConstant(boolean value) {
        return resultInstr() instanceof Instr.BoolConst(boolean v) && v == value;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Program p && p.result == result && p.instrs.equals(instrs);
    }

    @Override
    public int hashCode() { return instrs.hashCode() * 31 + result; }

    /** One live instruction a line: {@code r7 = add.int r3, r5  [ROW]}. */
    @Override
    public String toString() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < instrs.size(); i++) {
            if (!live[i]) continue;
            text.append("r").append(i).append(" = ").append(Instr.describe(instrs.get(i))).append("  [").append(levels.get(i)).append("]");
            if (i == result) text.append("  -> result");
            text.append("\n");
        }
        return text.toString();
    }
}
