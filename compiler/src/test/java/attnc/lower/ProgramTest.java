package attnc.lower;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.ir.Index;
import attnc.ir.Type;
import attnc.lower.Program.Level;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The program record itself: what each instruction writes and prints, how programs are checked, compared and printed. */
class ProgramTest {

    @Test
    void everyInstructionWritesItsType() {
        assertEquals(Type.INT, new Instr.IntConst(1).type());
        assertEquals(Type.FLOAT, new Instr.FloatConst(1.0).type());
        assertEquals(Type.BOOL, new Instr.BoolConst(true).type());
        assertEquals(Type.INT, new Instr.IndexValue(Index.Q).type());
        assertEquals(Type.INT, new Instr.SizeValue("Nq").type());
        assertEquals(Type.FLOAT, new Instr.ParamValue("t", Type.FLOAT).type());
        assertEquals(Type.FLOAT, new Instr.Score().type());
        assertEquals(Type.FLOAT, new Instr.Output().type());
        assertEquals(Type.FLOAT, new Instr.Load("x", DType.BFLOAT16, 0).type(), "bf16 loads as float");
        assertEquals(Type.INT, new Instr.Load("ids", DType.INT32, 0).type());
        assertEquals(Type.BOOL, new Instr.Member("sel", 0, 1, 2).type());
        assertEquals(List.of(0, 1, 2), new Instr.Member("sel", 0, 1, 2).reads());
    }

    @Test
    void instructionsPrintTheirOperands() {
        assertEquals("r3 in sel[r1 .. +r2]", Instr.describe(new Instr.Member("sel", 3, 1, 2)));
        assertEquals("load x[r4]", Instr.describe(new Instr.Load("x", DType.FLOAT32, 4)));
        assertEquals("sub.int r1, r2", Instr.describe(new Instr.Op(Opcode.SUB, Type.INT, Type.INT, List.of(1, 2))));
        assertEquals("index kv", Instr.describe(new Instr.IndexValue(Index.KV)));
    }

    @Test
    void levelsSayWhereTheyVary() {
        assertFalse(Level.UNIFORM.variesAlongRows() || Level.UNIFORM.variesAlongColumns());
        assertTrue(Level.ROW.variesAlongRows() && !Level.ROW.variesAlongColumns());
        assertTrue(!Level.COL.variesAlongRows() && Level.COL.variesAlongColumns());
        assertTrue(Level.ELEMENT.variesAlongRows() && Level.ELEMENT.variesAlongColumns());
    }

    /** Registers read only lower ones and the result is one of them: anything else is refused where the program is made. */
    @Test
    void malformedProgramsAreRefused() {
        List<Instr> two = List.of(new Instr.IndexValue(Index.Q), new Instr.IndexValue(Index.KV));
        assertThrows(IllegalArgumentException.class, () -> new Program(two, 2));
        assertThrows(IllegalArgumentException.class, () -> new Program(two, -1));
        assertEquals(1, new Program(two, 1).result());
        assertThrows(IllegalArgumentException.class, () -> new Program(List.of(new Instr.IntConst(1), new Instr.Op(Opcode.NEG, Type.INT, Type.INT, List.of(1))), 1),
                "an instruction reading itself");
    }

    @Test
    void programsEqualByInstructionsAndResult() {
        List<Instr> two = List.of(new Instr.IndexValue(Index.Q), new Instr.IndexValue(Index.KV));
        assertEquals(new Program(two, 1), new Program(two, 1));
        assertEquals(new Program(two, 1).hashCode(), new Program(two, 1).hashCode());
        assertNotEquals(new Program(two, 0), new Program(two, 1));
        assertNotEquals(new Program(two, 0).hashCode(), new Program(two, 1).hashCode());
        assertNotEquals(new Program(two, 1), new Program(List.of(new Instr.IndexValue(Index.Q), new Instr.IndexValue(Index.D)), 1));
    }

    @Test
    void printingMarksTheResultAndSkipsDeadRegisters() {
        Program p = new Program(List.of(new Instr.IndexValue(Index.Q), new Instr.IndexValue(Index.KV), new Instr.IntConst(7),
                new Instr.Op(Opcode.SUB, Type.INT, Type.INT, List.of(0, 1))), 3);
        assertEquals("r0 = index q  [ROW]\nr1 = index kv  [COL]\nr3 = sub.int r0, r1  [ELEMENT]  -> result\n", p.toString());
        assertFalse(p.live(2));
    }
}
