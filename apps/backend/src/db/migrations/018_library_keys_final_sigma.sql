-- 018: the library's keys are computed again. The fold (library-keys.ts) now
-- writes every final sigma ς as σ, as Unicode case folding does: a Greek
-- name whose last word ends before its extension (`Αθηνάς.png`) was folded
-- with σ and a search for that word with ς, so it was never found. '' means
-- "not computed": the backend computes every such key when it next opens the
-- database (openDatabase, library-keys.ts), as for a row written elsewhere.
UPDATE images SET search_text = '', name_key = '';
