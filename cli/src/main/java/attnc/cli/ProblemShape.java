package attnc.cli;

import picocli.CommandLine;

/** {@code --shape B,H,Nq,Nkv,D}: the sizes of a random problem (Dv = D). */
record ProblemShape(int batch, int heads, int queries, int keys, int headDim) {

    static ProblemShape parse(String text) {
        String[] parts = text.split(",", -1);
        if (parts.length != 5) {
            throw new CommandLine.TypeConversionException("expected five sizes B,H,Nq,Nkv,D (like 1,4,512,512,64), got '" + text + "'");
        }
        int[] sizes = new int[5];
        for (int i = 0; i < 5; i++) {
            try {
                sizes[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                sizes[i] = -1;
            }
            if (sizes[i] < 1) {
                throw new CommandLine.TypeConversionException("expected positive integers B,H,Nq,Nkv,D, got '" + parts[i].trim() + "' in '" + text + "'");
            }
        }
        return new ProblemShape(sizes[0], sizes[1], sizes[2], sizes[3], sizes[4]);
    }

    @Override
    public String toString() {
        return batch + "," + heads + "," + queries + "," + keys + "," + headDim;
    }
}
