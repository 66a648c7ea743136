package attnc.lower;

import attnc.ir.Index;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * A lowered expression: straight-line instructions in SSA form, the register holding the result,
 * and, for each register, the index variables it depends on ({@code s} counts as kv: it changes
 * per key; {@code o} as d). Backends hoist a register out of every loop whose index it does not
 * depend on: per-row work out of the kv loop, per-head work out of the query loop.
 */
public record Program(List<Instr> instrs, int result, List<Set<Index>> dependences) {

    public Program {
        instrs = List.copyOf(instrs);
        dependences = dependences.stream().map(s -> s.isEmpty() ? Set.<Index>of() : Set.copyOf(EnumSet.copyOf(s))).toList();
    }

    public Instr resultInstr() { return instrs.get(result); }

    public Set<Index> dependsOn(int register) { return dependences.get(register); }

    /** True when the register changes with kv (or the score): it must be computed per element. */
    public boolean perKey(int register) { return dependences.get(register).contains(Index.KV); }

    /** True when the result is the same for every element of the tile's rows and keys. */
    public boolean uniform(int register) {
        Set<Index> d = dependences.get(register);
        return !d.contains(Index.KV) && !d.contains(Index.Q) && !d.contains(Index.D);
    }
}
