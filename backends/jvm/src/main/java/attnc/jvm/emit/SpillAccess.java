package attnc.jvm.emit;

import attnc.lower.Program.Level;
import org.objectweb.asm.Type;
import org.objectweb.asm.commons.GeneratorAdapter;
import org.objectweb.asm.commons.Method;

/**
 * The loads and stores of spilled registers in one pass of a split hook ({@link PassPlanner}),
 * through {@link attnc.jvm.kernel.Lanes}' spill methods. The thread's spill arrays (a float[]
 * and an int[], which takes ints and booleans) arrive as two of the hook's arguments. Slot s of
 * either is the region [s·stride, (s + 1)·stride), stride = vectors·L·tileKv: one value per
 * element of the tile. Within its slot a register sits where its level puts it: ROW at its query
 * vector's first lane v·L, COL at its key j, ELEMENT at its element's at; UNIFORM ones at the
 * index their {@link PassPlanner.Location} gives.
 */
final class SpillAccess {
    /** Bytes of the pass's set-up: stride = vectors·L·tileKv into a local. */
    static final int SETUP_BYTES = 12;

    private final GeneratorAdapter g;
    private final TileLoop loop;
    private final int floatsArg, stride;

    /**
     * Emits the pass's set-up (the stride, unless every slot it touches is slot 0). The float
     * spill array is argument {@code floatsArg}, the int one the next.
     */
    SpillAccess(GeneratorAdapter g, TileLoop loop, int floatsArg, int vectorsArg, int tileKv, boolean beyondSlotZero) {
        this.g = g;
        this.loop = loop;
        this.floatsArg = floatsArg;
        stride = beyondSlotZero ? g.newLocal(Type.INT_TYPE) : -1;
        if (stride < 0) return;
        g.loadArg(vectorsArg);
        g.getStatic(ProgramRenderer.LANES, "L", Type.INT_TYPE);
        g.math(GeneratorAdapter.MUL, Type.INT_TYPE);
        g.push(tileKv);
        g.math(GeneratorAdapter.MUL, Type.INT_TYPE);
        g.storeLocal(stride);
    }

    /**
     * An upper bound of the bytes of one load or store of a register of {@code level} at
     * {@code location}: the array, the value's local and the call (7), the level's position, then
     * the slot's start: none for slot 0, the stride for slot 1, else at most 7.
     */
    static int bytes(Level level, PassPlanner.Location location) {
        int position = switch (level) {
            case UNIFORM -> 2;
            case ROW -> 6;
            case COL, ELEMENT -> 2;
        };
        return 7 + position + switch (location.slot()) {
            case 0 -> 0;
            case 1 -> 3;
            default -> 7;
        };
    }

    /** Pushes the register's value, loaded from its location. */
    void load(attnc.ir.Type type, boolean vector, Level level, PassPlanner.Location location) {
        array(type);
        index(level, location);
        g.invokeStatic(ProgramRenderer.LANES, new Method(loadName(type, vector),
                "(" + arrayDescriptor(type) + "I)" + ProgramRenderer.descriptor(type, vector)));
    }

    /** Stores the value on the stack to its location. */
    void store(attnc.ir.Type type, boolean vector, Level level, PassPlanner.Location location) {
        array(type);
        index(level, location);
        g.invokeStatic(ProgramRenderer.LANES, new Method("spill", "(" + ProgramRenderer.descriptor(type, vector) + arrayDescriptor(type) + "I)V"));
    }

    private static String loadName(attnc.ir.Type type, boolean vector) {
        return switch (type) {
            case FLOAT -> vector ? "spilledFloats" : "spilledFloat";
            case INT -> vector ? "spilledInts" : "spilledInt";
            case BOOL -> vector ? "spilledMask" : "spilledBool";
        };
    }

    private static String arrayDescriptor(attnc.ir.Type type) { return type == attnc.ir.Type.FLOAT ? "[F" : "[I"; }

    private void array(attnc.ir.Type type) {
        g.loadArg(type == attnc.ir.Type.FLOAT ? floatsArg : floatsArg + 1);
    }

    private void index(Level level, PassPlanner.Location location) {
        switch (level) {
            case UNIFORM -> g.push(location.index());
            case ROW -> {
                g.loadLocal(loop.v);
                g.getStatic(ProgramRenderer.LANES, "L", Type.INT_TYPE);
                g.math(GeneratorAdapter.MUL, Type.INT_TYPE);
            }
            case COL -> g.loadLocal(loop.j);
            case ELEMENT -> g.loadLocal(loop.at);
        }
        if (location.slot() == 0) return;
        g.loadLocal(stride);
        if (location.slot() > 1) {
            g.push(location.slot());
            g.math(GeneratorAdapter.MUL, Type.INT_TYPE);
        }
        g.math(GeneratorAdapter.ADD, Type.INT_TYPE);
    }
}
