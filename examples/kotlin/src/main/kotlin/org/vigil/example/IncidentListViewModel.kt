package org.vigil.example

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.vigil.IncidentFilter
import org.vigil.IncidentStatus
import org.vigil.IncidentSummary
import org.vigil.SyncSummary
import org.vigil.TaxonomyForm
import org.vigil.Vault
import org.vigil.VaultChange
import org.vigil.VaultListener
import org.vigil.VigilException

/**
 * What the Android app's incident list screen holds, written against the bindings
 * only: on Android this class extends `androidx.lifecycle.ViewModel` and `scope` is
 * `viewModelScope`; nothing else changes.
 */
class IncidentListViewModel(
    private val vault: Vault,
    private val scope: CoroutineScope,
    language: String,
) : VaultListener {
    private val _incidents = MutableStateFlow<List<IncidentSummary>>(emptyList())
    private val _problem = MutableStateFlow<String?>(null)

    /** The list the screen shows, newest first. */
    val incidents: StateFlow<List<IncidentSummary>> = _incidents.asStateFlow()

    /** A message for the user about the last action that failed, if any. */
    val problem: StateFlow<String?> = _problem.asStateFlow()

    /** What the "new incident" form draws: categories, fields, labels in the device language. */
    val form: TaxonomyForm = vault.taxonomy(language)

    init {
        vault.addListener(this)
    }

    /** Reloads the list; the vault calls this through [vaultChanged] when anything changes. */
    suspend fun refresh() {
        _incidents.value = withContext(Dispatchers.IO) { vault.listIncidents(IncidentFilter()) }
    }

    /** The vault changed (here, or a peer's incidents arrived): reload, off the vault's thread. */
    override fun vaultChanged(change: VaultChange) {
        scope.launch { refresh() }
    }

    /** Saves the form; returns the new incident's id, or null with [problem] set to why. */
    suspend fun log(fields: Map<String, String>, submit: Boolean): String? = withContext(Dispatchers.IO) {
        try {
            val id = vault.addIncident(fields)
            if (submit) vault.setStatus(id, IncidentStatus.SUBMITTED)
            _problem.value = null
            id
        } catch (e: VigilException.InvalidInput) {
            // The field is named so the form can mark it; the reason never quotes names.
            _problem.value = "${e.field}: ${e.reason}"
            null
        }
    }

    /** One sync with a teammate's device; a failure becomes a message, not a crash. */
    suspend fun syncWith(address: String): SyncSummary? =
        try {
            vault.syncWith(address)
        } catch (e: VigilException.Network) {
            _problem.value = "sync failed, try again later: ${e.reason}"
            null
        } catch (e: VigilException.NotAllowed) {
            // Revoked, or the peer is of another team: retrying will not help.
            _problem.value = "sync refused: ${e.reason}"
            null
        }

    /** The screen goes away. */
    fun clear() = vault.removeListeners()
}
