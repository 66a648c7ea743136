package attnc.jvm.emit;

import attnc.ir.Type;
import attnc.lower.Instr;
import attnc.lower.Program;
import attnc.lower.Program.Level;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where to cut a tile hook into passes over the tile. Why: C2 inlines a hot callee only up to
 * FreqInlineSize (325 bytes of bytecode); a larger hook is compiled on its own, and there inlining
 * the Vector API under its many {@link attnc.jvm.kernel.Lanes} calls passes C2's
 * NodeCountInliningCutoff (18,000 nodes) part way. The calls after that point stay calls, on
 * vectors boxed on the heap, and run the Vector API's Java fallbacks (low_rank_bias's 727-byte
 * score hook spent half its time there). So a hook whose bytecode would pass {@link #BUDGET} is
 * emitted as several methods, passes run one after another, each small enough for C2 to compile
 * whole: first the per-call (UNIFORM) registers of all its programs, in passes without loops,
 * then the rest in program order, each such pass a loop over the whole tile.
 *
 * <p>A register computed in one pass and read in a later one is spilled: stored where it is
 * computed to its {@link Location} in the thread's spill arrays, loaded where it is read.
 * Registers that read nothing (constants, indices, sizes, params, s) cost less to compute again
 * than to load, so each pass that needs one computes its own. Sizes are estimates, not
 * measurements: {@link ProgramRenderer#bytes}, {@link SpillAccess#bytes} and the sinks' counts
 * are upper bounds, so a pass planned within the budget is no larger once emitted (a test checks
 * every example's methods).
 *
 * <p>Programs on one instruction list ({@link attnc.lower.ShareSubexpressions#acrossPrograms}:
 * the score sites' partials and offsets) are planned as one ({@link Sharing}): a register they
 * share is computed once, by the first of them, and each reads its result from there.
 */
final class PassPlanner {
    /**
     * Bytes of bytecode a pass may take: C2's FreqInlineSize, the largest hot callee it inlines.
     * The estimates are upper bounds, so no pass is larger.
     */
    static final int BUDGET = 325;
    /**
     * UNIFORM registers spilled to one slot, at indices 0 .. 7: a slot holds a tile's elements,
     * at least 8 (4 keys of a vector of 2 lanes), and a constant index costs no arithmetic.
     */
    static final int UNIFORMS_PER_SLOT = 8;

    private PassPlanner() {}

    /** What a sink needs: the programs whose results it reads, and the bytes it adds to the pass it runs in. */
    record SinkNeeds(List<Integer> reads, int bytes) {}

    /** Where a spilled register lives: its slot of the float or int array, and for a UNIFORM register its index in the slot. */
    record Location(int slot, int index) {}

    /**
     * What one method does with one program: the registers it computes and those it loads from
     * the spill arrays; {@code spills[r]} is where register r is spilled (null: never). A register
     * computed here that has a location is stored to it.
     */
    record Part(BitSet computed, BitSet loaded, Location[] spills) {
        /** Every live register computed, nothing spilled: a hook that is not split. */
        static Part whole(Program program) {
            BitSet live = new BitSet();
            for (int r = 0; r < program.instrs().size(); r++) if (program.live(r)) live.set(r);
            return whole(program, live);
        }

        /** The registers {@code live} computed, nothing spilled. */
        static Part whole(Program program, BitSet live) {
            return new Part(live, new BitSet(), new Location[program.instrs().size()]);
        }

        boolean uses(int register) { return computed.get(register) || loaded.get(register); }

        boolean stores(int register) { return computed.get(register) && spills[register] != null; }
    }

    /**
     * Which programs share an instruction list: {@code first[p]} is the first program with
     * program p's list, the one whose {@link Part}s compute their registers; {@code live[p]}, for
     * such a first program, the registers any of them needs (their liveness joined).
     */
    record Sharing(int[] first, BitSet[] live) {
        static Sharing of(List<Program> programs) {
            int[] first = new int[programs.size()];
            BitSet[] live = new BitSet[programs.size()];
            for (int p = 0; p < programs.size(); p++) {
                first[p] = p;
                for (int o = 0; o < p; o++) {
                    if (first[o] == o && programs.get(o).instrs().equals(programs.get(p).instrs())) {
                        first[p] = o;
                        break;
                    }
                }
                if (live[first[p]] == null) live[first[p]] = new BitSet();
                Program program = programs.get(p);
                for (int r = 0; r < program.instrs().size(); r++) if (program.live(r)) live[first[p]].set(r);
            }
            return new Sharing(first, live);
        }

        boolean computes(int program) { return first[program] == program; }

        /** Whether the first program of a list computes register {@code register} (false for the others, which compute nothing). */
        boolean live(int program, int register) { return computes(program) && live[program].get(register); }
    }

    /** One pass: a part per program, the sinks it runs, and whether it loops over the tile (else it computes UNIFORM registers only). */
    record Pass(List<Part> parts, List<Integer> sinks, boolean loops) {}

    /** The passes in order, and how many float and int slots they spill to (booleans go to ints). */
    record Plan(List<Pass> passes, int floatSlots, int intSlots) {}

    /**
     * The plan for {@code programs} (their live registers) feeding {@code sinks}, each pass at most
     * {@code budget} bytes, {@code loopBytes} of them for its loops: one pass when the whole hook
     * fits, else as many registers per pass as fit, in order.
     */
    static Plan plan(List<Program> programs, List<SinkNeeds> sinks, int loopBytes, int budget) {
        Sharing sharing = Sharing.of(programs);
        int whole = loopBytes;
        for (int p = 0; p < programs.size(); p++) {
            for (int r = 0; r < programs.get(p).instrs().size(); r++) if (sharing.live(p, r)) whole += ProgramRenderer.bytes(programs.get(p), r, true);
        }
        for (SinkNeeds sink : sinks) whole += sink.bytes();
        if (whole <= budget) {
            List<Integer> all = new ArrayList<>();
            for (int k = 0; k < sinks.size(); k++) all.add(k);
            List<Part> parts = new ArrayList<>();
            for (int p = 0; p < programs.size(); p++) parts.add(Part.whole(programs.get(p), sharing.computes(p) ? sharing.live()[p] : new BitSet()));
            return new Plan(List.of(new Pass(parts, all, true)), 0, 0);
        }
        return new Planner(programs, sharing, sinks, loopBytes, budget).cut();
    }

    /** Register {@code register} of program {@code program}. */
    private record Reg(int program, int register) {}

    /** What a pass does, in order: compute a register (sink −1) or run sink {@code sink} (reg null). */
    private record Item(Reg reg, int sink) {}

    /** A pass being filled, from item {@code first} on. */
    private static final class Builder {
        final int first;
        final Set<Reg> computed = new LinkedHashSet<>(), loaded = new LinkedHashSet<>();
        final List<Integer> sinks = new ArrayList<>();
        int bytes;
        /** Whether it loops over the tile; whether it touches a slot past 0, for which it sets up the slots' stride. */
        boolean loops, stride;

        Builder(int first) { this.first = first; }

        boolean has(Reg reg) { return computed.contains(reg) || loaded.contains(reg); }
    }

    private static final class Planner {
        private final List<Program> programs;
        private final Sharing sharing;
        private final List<SinkNeeds> sinks;
        private final int loopBytes, budget;
        private final List<Item> items = new ArrayList<>();
        /** Each computed register's last reader, as an index into items. */
        private final Map<Reg, Integer> lastRead = new HashMap<>();
        /** Where each register stored so far is, and how the slots are taken so far. */
        private final Map<Reg, Location> spills = new HashMap<>();
        private Taken taken = new Taken(new int[2], List.of(List.of(), List.of()));

        Planner(List<Program> programs, Sharing sharing, List<SinkNeeds> sinks, int loopBytes, int budget) {
            this.programs = programs;
            this.sharing = sharing;
            this.sinks = sinks;
            this.loopBytes = loopBytes;
            this.budget = budget;
            List<Reg> order = new ArrayList<>();
            for (boolean uniform : new boolean[] {true, false}) {
                for (int p = 0; p < programs.size(); p++) {
                    for (int r = 0; r < programs.get(p).instrs().size(); r++) {
                        Reg reg = new Reg(p, r);
                        if (sharing.live(p, r) && !isLeaf(reg) && (level(reg) == Level.UNIFORM) == uniform) order.add(reg);
                    }
                }
            }
            // A sink runs right after the last of its inputs that is computed; one that reads only leaves, last of all.
            List<List<Integer>> after = new ArrayList<>();
            for (int i = 0; i <= order.size(); i++) after.add(new ArrayList<>());
            for (int k = 0; k < sinks.size(); k++) {
                int last = -1;
                for (int p : sinks.get(k).reads()) last = Math.max(last, order.indexOf(result(p)));
                after.get(last < 0 ? order.size() : last).add(k);
            }
            for (int i = 0; i <= order.size(); i++) {
                if (i < order.size()) items.add(new Item(order.get(i), -1));
                for (int k : after.get(i)) items.add(new Item(null, k));
            }
            for (int at = 0; at < items.size(); at++) for (Reg input : inputs(items.get(at))) lastRead.put(input, at);
        }

        /**
         * Greedy, in order: an item joins the current pass unless the pass, with the stores it
         * would then owe (its registers that a later item reads), would pass the budget, or unless
         * the pass is one without loops and the item needs them: a loop over the tile is what a
         * pass costs at run time, so per-call work fills passes of its own rather than a loop's.
         */
        Plan cut() {
            List<Builder> passes = new ArrayList<>(List.of(new Builder(0)));
            Set<Reg> owed = new LinkedHashSet<>();
            for (int at = 0; at < items.size(); at++) {
                Item item = items.get(at);
                Builder pass = passes.getLast();
                Set<Reg> stillOwed = stillOwed(owed, item, at);
                boolean full = pass.bytes + cost(item, pass) + storeBytes(stillOwed, pass) > budget;
                if (at > pass.first && (full || !pass.loops && loops(item))) {
                    Placement placed = locate(owed, pass.first);
                    spills.putAll(placed.at());
                    taken = placed.taken();
                    pass = new Builder(at);
                    passes.add(pass);
                    stillOwed = stillOwed(Set.of(), item, at);
                }
                pass.bytes += cost(item, pass);
                pass.loops |= loops(item);
                for (Reg input : inputs(item)) {
                    if (pass.has(input)) continue;
                    if (isLeaf(input)) {
                        pass.computed.add(input);
                    } else {
                        pass.loaded.add(input);
                        pass.stride |= spills.get(input).slot() > 0;
                    }
                }
                if (item.reg() == null) pass.sinks.add(item.sink());
                else pass.computed.add(item.reg());
                owed = stillOwed;
            }
            List<Pass> plan = new ArrayList<>();
            for (Builder pass : passes) {
                List<Part> parts = new ArrayList<>();
                for (int p = 0; p < programs.size(); p++) parts.add(new Part(registers(pass.computed, p), registers(pass.loaded, p), locations(p)));
                plan.add(new Pass(parts, pass.sinks, pass.loops));
            }
            return new Plan(plan, taken.count(0), taken.count(1));
        }

        /**
         * What adding {@code item} to {@code pass} costs: itself, the leaves and loads it needs
         * (the stride's set-up with the first load past slot 0), and the loops where it is the
         * first to need them.
         */
        private int cost(Item item, Builder pass) {
            int bytes = item.reg() == null ? sinks.get(item.sink()).bytes() : bytes(item.reg());
            boolean stride = pass.stride;
            for (Reg input : inputs(item)) {
                if (pass.has(input)) continue;
                if (isLeaf(input)) {
                    bytes += bytes(input);
                } else {
                    Location at = spills.get(input);
                    bytes += SpillAccess.bytes(level(input), at);
                    if (at.slot() > 0 && !stride) bytes += SpillAccess.SETUP_BYTES;
                    stride |= at.slot() > 0;
                }
            }
            return bytes + (loops(item) && !pass.loops ? loopBytes : 0);
        }

        /** Bytes of storing {@code owed} where the pass would store them, with the stride's set-up if that needs it and the pass has none yet. */
        private int storeBytes(Set<Reg> owed, Builder pass) {
            int bytes = 0;
            boolean stride = pass.stride;
            for (Map.Entry<Reg, Location> store : locate(owed, pass.first).at().entrySet()) {
                bytes += SpillAccess.bytes(level(store.getKey()), store.getValue());
                stride |= store.getValue().slot() > 0;
            }
            return bytes + (stride && !pass.stride ? SpillAccess.SETUP_BYTES : 0);
        }

        /** The current pass's registers still read after item {@code at}, with the item's own when it is. */
        private Set<Reg> stillOwed(Set<Reg> owed, Item item, int at) {
            Set<Reg> still = new LinkedHashSet<>();
            for (Reg reg : owed) if (lastRead.get(reg) > at) still.add(reg);
            if (item.reg() != null && lastRead.getOrDefault(item.reg(), -1) > at) still.add(item.reg());
            return still;
        }

        /**
         * Where the pass that began at item {@code first} stores {@code owed}, float and int apart
         * (not yet taken: the caller puts them in {@link #spills} when the pass ends). UNIFORM
         * registers (all computed before any other) are packed into the first slots,
         * {@link #UNIFORMS_PER_SLOT} to a slot; any other takes a slot of its own, one whose
         * register was last read before this pass (not in it: the store could come before the load).
         */
        private Placement locate(Set<Reg> owed, int first) {
            Map<Reg, Location> at = new HashMap<>();
            int[] uniforms = taken.uniforms().clone();
            for (Reg reg : owed) {
                if (level(reg) != Level.UNIFORM) continue;
                int k = uniforms[kind(reg)]++;
                at.put(reg, new Location(k / UNIFORMS_PER_SLOT, k % UNIFORMS_PER_SLOT));
            }
            List<List<Reg>> occupants = List.of(new ArrayList<>(taken.occupants().get(0)), new ArrayList<>(taken.occupants().get(1)));
            for (Reg reg : owed) {
                if (level(reg) == Level.UNIFORM) continue;
                List<Reg> slots = occupants.get(kind(reg));
                int slot = 0;
                while (slot < slots.size() && lastRead.get(slots.get(slot)) >= first) slot++;
                if (slot == slots.size()) slots.add(reg);
                else slots.set(slot, reg);
                at.put(reg, new Location(Taken.uniformSlots(uniforms[kind(reg)]) + slot, 0));
            }
            return new Placement(at, new Taken(uniforms, occupants));
        }

        /** Per kind (0 float, 1 int): the UNIFORM registers stored, and the register last stored to each later slot. */
        private record Taken(int[] uniforms, List<List<Reg>> occupants) {
            int count(int kind) { return uniformSlots(uniforms[kind]) + occupants.get(kind).size(); }

            /** Slots the first {@code count} UNIFORM registers of a kind fill. */
            static int uniformSlots(int count) { return (count + UNIFORMS_PER_SLOT - 1) / UNIFORMS_PER_SLOT; }
        }

        /** Where a pass's stores go, and the slots as they are taken then. */
        private record Placement(Map<Reg, Location> at, Taken taken) {}

        /** 0 for a register spilled to the float array, 1 for the int array. */
        private int kind(Reg reg) { return instr(reg).type() == Type.FLOAT ? 0 : 1; }

        private Location[] locations(int program) {
            Location[] at = new Location[programs.get(program).instrs().size()];
            spills.forEach((reg, location) -> {
                if (reg.program() == program) at[reg.register()] = location;
            });
            return at;
        }

        private static BitSet registers(Set<Reg> regs, int program) {
            BitSet set = new BitSet();
            for (Reg reg : regs) if (reg.program() == program) set.set(reg.register());
            return set;
        }

        /** The registers an item reads, each once. */
        private Set<Reg> inputs(Item item) {
            Set<Reg> in = new LinkedHashSet<>();
            if (item.reg() == null) {
                for (int p : sinks.get(item.sink()).reads()) in.add(result(p));
            } else {
                for (int r : instr(item.reg()).reads()) in.add(new Reg(item.reg().program(), r));
            }
            return in;
        }

        /** Program p's result, where the first program of its instruction list computes it. */
        private Reg result(int program) { return new Reg(sharing.first()[program], programs.get(program).result()); }

        /** Whether an item needs the tile's loops: a sink, or a register that varies within the tile. */
        private boolean loops(Item item) { return item.reg() == null || level(item.reg()) != Level.UNIFORM; }

        private boolean isLeaf(Reg reg) { return instr(reg).reads().isEmpty(); }

        private int bytes(Reg reg) { return ProgramRenderer.bytes(programs.get(reg.program()), reg.register(), true); }

        private Instr instr(Reg reg) { return programs.get(reg.program()).instrs().get(reg.register()); }

        private Level level(Reg reg) { return programs.get(reg.program()).level(reg.register()); }
    }
}
